package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The 1.x web service's load and unload routes look their name up among the
// catalog's aliases only (the public core's catalog.GetModel), while a chat
// completion names a variant id (GetModelVariant). Loading an alias loads
// that alias's selected variant: its first downloaded variant, else its
// first. GET /models/loaded lists, for each alias whose selected variant is
// loaded, that variant's id. So a load here tries the variant id first (a
// service that accepts it loads exactly that variant), falls back to the
// alias when the service answers 404, and then reads /models/loaded to learn
// which variant is actually loaded.

// foundry1xLoad is what a 1.x load did.
type foundry1xLoad struct {
	took     time.Duration // around the load request that answered
	status   string        // "loaded" or "already_loaded"
	via      string        // the name the route accepted: the variant id or its alias
	loadedID string        // the variant /models/loaded lists for it
}

// rememberAliases keeps each variant's alias from a catalog for later
// loads and unloads by alias; fromCLI says the aliases are the service's
// own (from the CLI), not guessed from the ids.
func (f *FoundryManager) rememberAliases(entries []FoundryEntry, fromCLI bool) {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.Alias != "" {
			m[strings.ToLower(e.Name)] = e.Alias
		}
	}
	f.aliasMu.Lock()
	f.aliases, f.real = m, fromCLI
	f.aliasMu.Unlock()
}

// aliasOf returns the remembered alias of id ("" when unknown), matching
// ids as foundrySameID does.
func (f *FoundryManager) aliasOf(id string) string {
	f.aliasMu.Lock()
	defer f.aliasMu.Unlock()
	if a, ok := f.aliases[strings.ToLower(id)]; ok {
		return a
	}
	for k, a := range f.aliases {
		if foundrySameID(k, id) {
			return a
		}
	}
	return ""
}

// aliasCandidates1x lists the names to try on the alias-only routes for
// variant id, in order: the hints (the alias Resolve found, the name the
// user typed), the catalog's alias of id (the catalog is fetched once when
// no alias is remembered), and the family read from the id. Each name
// appears once and id itself never.
func (f *FoundryManager) aliasCandidates1x(ctx context.Context, id string, hints ...string) []string {
	if f.aliasOf(id) == "" {
		if _, err := f.catalog1x(ctx); err != nil {
			f.note("foundry: the alias of %s is unknown: %v", id, err)
		}
	}
	family, _, _ := foundryParseVariantID(id)
	var out []string
	for _, c := range append(slices.Clone(hints), f.aliasOf(id), family) {
		c = strings.TrimSpace(c)
		if c == "" || foundrySameID(c, id) || slices.Contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// loadRoute1x GETs /models/load/{name} and returns how long the service
// took, measured around the request (it answers once the model is in
// memory), and its status: "loaded", or "already_loaded" when nothing was
// loaded. Errors are the service's (*foundry1xError), unworded.
func (f *FoundryManager) loadRoute1x(ctx context.Context, name string) (time.Duration, string, error) {
	start := time.Now()
	status, err := f.status1x(ctx, "/models/load/"+url.PathEscape(name))
	took := time.Since(start)
	if err != nil {
		return took, "", err
	}
	switch status {
	case foundryLoaded, foundryAlreadyLoaded:
		return took, status, nil
	}
	return took, "", fmt.Errorf("unexpected status %q", foundryClip(status, foundryMaxStatus))
}

// foundry1xNotFound reports whether err is the service's 404.
func foundry1xNotFound(err error) bool {
	var e *foundry1xError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// load1xVariant loads variant id on the 1.x web service: by id, then, on
// 404, by each alias candidate (aliasCandidates1x with hints), and confirms
// through /models/loaded which variant is loaded. The route takes no TTL
// (the service keeps models until they are unloaded or it stops), so
// opts.TTL is not sent. Nor does it take an execution provider: the variant
// decides, so an opts.ExecutionProvider that the id's own provider
// contradicts is an error, and one the id does not name is noted and not
// sent. An unknown model, and one not downloaded yet, are errors saying
// so.
func (f *FoundryManager) load1xVariant(ctx context.Context, id string, opts LoadOptions, hints ...string) (foundry1xLoad, error) {
	var l foundry1xLoad
	if ep := foundryEPParam(opts.ExecutionProvider); ep != "" {
		_, _, idEP := foundryParseVariantID(id)
		switch {
		case idEP == "":
			f.note("foundry: execution provider %s not sent: the 1.x service's load route takes none, the variant %s decides", opts.ExecutionProvider, id)
		case foundryEPParam(idEP) != ep:
			return l, fmt.Errorf("foundry: load %s: it runs on %s, not %s; Foundry Local 1.x picks the execution provider by variant, so load that provider's variant instead",
				id, idEP, opts.ExecutionProvider)
		}
	}
	before, _ := f.loaded1x(ctx) // to tell which variant a load by alias added
	tried := []string{id}
	took, status, err := f.loadRoute1x(ctx, id)
	l.via = id
	if foundry1xNotFound(err) {
		for _, alias := range f.aliasCandidates1x(ctx, id, hints...) {
			tried = append(tried, alias)
			took, status, err = f.loadRoute1x(ctx, alias)
			l.via = alias
			if !foundry1xNotFound(err) {
				break
			}
		}
	}
	l.took, l.status = took, status
	if err != nil {
		if foundry1xNotFound(err) {
			hint := "`flperf models --engine foundry` lists the catalog's aliases"
			if !f.aliasesKnown() {
				hint = "the foundry CLI, which knows each variant's alias, is not on PATH (or failed): name the model by its alias, or put the CLI on PATH"
			}
			return l, fmt.Errorf("foundry: load %s: the service knows none of %s (%w); Foundry Local 1.x loads by alias: %s",
				id, foundryQuoted(tried), err, hint)
		}
		return l, foundry1xModelError("load", l.via, err)
	}
	loadedID, err := f.loadedVariant1x(ctx, id, l.via, before)
	if err != nil {
		return l, fmt.Errorf("foundry: load %s: the service answered %q to %s, but %w", id, status, l.via, err)
	}
	l.loadedID = loadedID
	return l, nil
}

// foundryQuoted lists names quoted, joined by "nor".
func foundryQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " nor ")
}

// loadedVariant1x reads /models/loaded after a load of id through the name
// via and returns the variant loaded: id itself when it is listed, else
// the listed variant of via's alias (by the CLI's aliases), else the one
// variant the load added to before (the list before the load).
func (f *FoundryManager) loadedVariant1x(ctx context.Context, id, via string, before []string) (string, error) {
	loaded, err := f.loaded1x(ctx)
	if err != nil {
		return "", err
	}
	for _, l := range loaded {
		if foundrySameID(l, id) {
			return l, nil
		}
	}
	if f.aliasesKnown() {
		for _, l := range loaded {
			if f.aliasOf(l) == via {
				return l, nil
			}
		}
	}
	var added []string
	for _, l := range loaded {
		if !foundryListed(before, l) {
			added = append(added, l)
		}
	}
	if len(added) == 1 {
		return added[0], nil
	}
	listed := "nothing"
	if len(loaded) > 0 {
		listed = strings.Join(loaded, ", ")
	}
	return "", fmt.Errorf("GET /models/loaded does not say which variant it loaded (it lists %s)", listed)
}

// aliasesKnown reports whether the remembered aliases are the service's own
// (from the CLI), not guessed from the ids.
func (f *FoundryManager) aliasesKnown() bool {
	f.aliasMu.Lock()
	defer f.aliasMu.Unlock()
	return f.real
}

// load1x is Load on the 1.x web service (load1xVariant): it returns the
// load time and status, and notes a loaded variant other than id.
func (f *FoundryManager) load1x(ctx context.Context, id string, opts LoadOptions) (time.Duration, string, error) {
	l, err := f.load1xVariant(ctx, id, opts)
	if err != nil {
		return l.took, "", err
	}
	if !foundrySameID(l.loadedID, id) {
		f.note("foundry: Foundry Local 1.x loads by alias: loading %s through %q loaded that alias's selected variant %s", id, l.via, l.loadedID)
	}
	return l.took, l.status, nil
}

// unload1x unloads id on the 1.x web service and returns its status:
// "unloaded", or "not_loaded" (not an error). GET /models/unload/{id} is
// tried first; on 404, a variant /models/loaded does not list is not
// loaded, and a listed one is unloaded through its alias (which unloads
// the alias's selected variant: the listed one).
func (f *FoundryManager) unload1x(ctx context.Context, id string) (string, error) {
	status, err := f.unloadRoute1x(ctx, id)
	if !foundry1xNotFound(err) {
		if err != nil {
			return "", foundry1xModelError("unload", id, err)
		}
		return status, nil
	}
	loaded, lerr := f.loaded1x(ctx)
	if lerr != nil {
		return "", fmt.Errorf("foundry: unload %s: %w", id, lerr)
	}
	if !foundryListed(loaded, id) {
		return foundryNotLoaded, nil
	}
	for _, alias := range f.aliasCandidates1x(ctx, id) {
		status, err = f.unloadRoute1x(ctx, alias)
		if foundry1xNotFound(err) {
			continue
		}
		if err != nil {
			return "", foundry1xModelError("unload", alias, err)
		}
		return status, nil
	}
	return "", foundry1xModelError("unload", id, err)
}

// unloadRoute1x GETs /models/unload/{name} and returns its status.
func (f *FoundryManager) unloadRoute1x(ctx context.Context, name string) (string, error) {
	status, err := f.status1x(ctx, "/models/unload/"+url.PathEscape(name))
	if err != nil {
		return "", err
	}
	switch status {
	case foundryUnloaded, foundryNotLoaded:
		return status, nil
	}
	return "", fmt.Errorf("foundry: unload %s: unexpected status %q", name, foundryClip(status, foundryMaxStatus))
}

// foundry1xModelError words a failed load or unload of name: an unknown
// model, a model not downloaded, or the service's own error.
func foundry1xModelError(op, name string, err error) error {
	var e *foundry1xError
	if errors.As(err, &e) {
		switch {
		case e.Status == http.StatusNotFound:
			return fmt.Errorf("foundry: %s %s: the service knows no model %q (%w); `flperf models --engine foundry` lists its catalog", op, name, name, err)
		case e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "not cached"):
			return fmt.Errorf("foundry: %s %s: it is not downloaded; download it first (`foundry model download %s`) (%w)", op, name, name, err)
		}
	}
	return fmt.Errorf("foundry: %s %s: %w", op, name, err)
}

// ensureLoaded1x is EnsureLoaded on the 1.x web service. A reload that
// loads another variant of the alias than id is an error: requests name id.
func (f *FoundryManager) ensureLoaded1x(ctx context.Context, id string, opts LoadOptions) (bool, time.Duration, error) {
	loaded, err := f.loaded1x(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("foundry: is %s loaded: %w", id, err)
	}
	if foundryListed(loaded, id) {
		return false, 0, nil
	}
	l, err := f.load1xVariant(ctx, id, opts)
	if err != nil {
		return false, l.took, err
	}
	if !foundrySameID(l.loadedID, id) {
		return false, l.took, fmt.Errorf("foundry: reloading %s through %q loaded %s instead (that alias's selected variant); requests naming %s will fail", id, l.via, l.loadedID, id)
	}
	if l.status == foundryAlreadyLoaded {
		return false, 0, nil
	}
	return true, l.took, nil
}

// FoundryLoad is what LoadModel did.
type FoundryLoad struct {
	// Model is the variant now loaded, as the service lists it: the one
	// asked for, or (Foundry Local 1.x, which loads by alias) the alias's
	// selected variant, with Requested and Choice saying so.
	Model Model
	Took  time.Duration // the load's duration (0 when it was already loaded)
	Via   string        // the name the load route accepted: the variant id, or its alias on 1.x
}

// LoadModel loads m, a variant Resolve returned, and reports which variant
// is loaded. On the legacy service it is Load(m.ID) with m.LoadEP as the
// ep (unless opts names one) and m is what is loaded. On the 1.x web
// service the variant id is tried first, then the alias (m.Alias, then
// m.Requested), and /models/loaded says which variant is loaded: when it is
// not m.ID, Model is that variant (from the catalog when listed there),
// with Requested the name asked for and Choice saying why.
func (f *FoundryManager) LoadModel(ctx context.Context, m Model, opts LoadOptions) (FoundryLoad, error) {
	if m.ID == "" {
		return FoundryLoad{}, errors.New("foundry: load: no model id")
	}
	if !f.is1x(ctx) {
		if opts.ExecutionProvider == "" {
			opts.ExecutionProvider = m.LoadEP
		}
		took, err := f.Load(ctx, m.ID, opts)
		m.Loaded = foundryBool(err == nil)
		return FoundryLoad{Model: m, Took: took, Via: m.ID}, err
	}
	l, err := f.load1xVariant(ctx, m.ID, opts, m.Alias, m.Requested)
	out := FoundryLoad{Model: m, Took: l.took, Via: l.via}
	if err != nil {
		return out, err
	}
	if l.status == foundryAlreadyLoaded {
		out.Took = 0
	}
	if foundrySameID(l.loadedID, m.ID) {
		out.Model.Loaded = foundryBool(true)
		return out, nil
	}
	got := Model{ID: l.loadedID}
	if c, err := f.catalog1x(ctx); err == nil {
		for i, e := range c.entries {
			if foundrySameID(e.Name, l.loadedID) {
				got = e.model()
				got.Downloaded = c.cached[i]
				break
			}
		}
	}
	if got.Alias == "" {
		family, dev, ep := foundryParseVariantID(l.loadedID)
		got.Alias, got.Device, got.ExecutionProvider = foundryOr(f.aliasOf(l.loadedID), family), dev, ep
	}
	got.ID = l.loadedID
	got.Loaded, got.Downloaded = foundryBool(true), foundryBool(true)
	got.Requested = foundryOr(m.Requested, m.ID)
	got.Choice = fmt.Sprintf("asked for %s, but Foundry Local 1.x loads by alias only: loading %q loaded its selected variant %s (its first downloaded variant), which is what runs",
		m.ID, l.via, l.loadedID)
	out.Model = got
	return out, nil
}

// IsLoaded reports whether id is loaded now: one GET of the loaded list
// (/openai/loadedmodels, or /models/loaded on the 1.x web service).
func (f *FoundryManager) IsLoaded(ctx context.Context, id string) (bool, error) {
	var loaded []string
	var err error
	if f.is1x(ctx) {
		loaded, err = f.loaded1x(ctx)
	} else {
		loaded, err = f.ids(ctx, "/openai/loadedmodels")
	}
	if err != nil {
		return false, fmt.Errorf("foundry: is %s loaded: %w", id, err)
	}
	return foundryListed(loaded, id), nil
}
