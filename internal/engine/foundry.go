package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FoundryManager manages the models of a Microsoft Foundry Local service.
// Of the legacy generation (CLI ≤ 0.8.x) through its REST API (docs/engines.md
// §1.4–1.7): catalog, cache and loaded lists, downloads with progress,
// loads with a TTL and an execution provider, unloads. Of the 1.x web
// service (SDK 1.x, CLI 0.10+, §1.8) through its smaller route set (catalog
// from /v1/models, loaded list, load, unload) and, for what that service
// has no route for (downloaded list, download), through the `foundry` CLI
// when it is on PATH. The generation comes from the CLI command that found
// the service or from probing its endpoints (see Generation). It implements
// Manager. It is safe for concurrent use once Note is set.
type FoundryManager struct {
	info Info
	root string // scheme://host:port, the management routes' base
	hc   *http.Client
	dl   *http.Client // hc without a Timeout: downloads are bounded by their context only

	genMu sync.Mutex
	gen   FoundryGeneration // "" until known

	aliasMu sync.Mutex
	aliases map[string]string // 1.x: lower-cased variant id → its alias, from the last catalog
	real    bool              // aliases came from the CLI (not guessed from the ids)

	// Note, when set before use, receives remarks that are not errors,
	// such as a catalog entry skipped because it has no name.
	Note func(msg string)
}

// Foundry's answers are small JSON lists or catalogs; a catalog of a few
// hundred entries is well under a megabyte.
const (
	foundryMaxJSON  = 32 << 20
	foundryMaxError = 1 << 10 // bytes of an error body quoted in an error
)

// NewFoundry returns a manager for the Foundry Local service whose OpenAI
// base URL is info.Endpoint (…/v1; the management routes are on its root).
// hc sends the requests (nil: a client without a timeout, so that slow
// loads and first catalog fetches are bounded by their context only); a
// Timeout on hc is ignored for downloads, which may take hours.
func NewFoundry(info Info, hc *http.Client) *FoundryManager {
	if hc == nil {
		hc = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	dl := hc
	if hc.Timeout != 0 {
		c := *hc
		c.Timeout = 0
		dl = &c
	}
	return &FoundryManager{info: info, root: root(info.Endpoint), hc: hc, dl: dl, gen: foundryGenerationOf(info)}
}

// Info returns the engine the manager talks to.
func (f *FoundryManager) Info() Info { return f.info }

// Capabilities are, for the legacy service, catalog, downloaded, loaded,
// download, load and unload. For the 1.x web service they are catalog,
// loaded, load and unload, plus downloaded and download only when the
// `foundry` CLI is on PATH (the service has no route for them). Neither
// generation reports timings or serves /metrics. When the generation is not
// known yet it is probed (at most 5 s); a service that cannot be probed is
// described as legacy.
func (f *FoundryManager) Capabilities() Capabilities {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.is1x(ctx) {
		cli := foundryCLIFound()
		return Capabilities{Catalog: true, Downloaded: cli, Loaded: true, Download: cli, Load: true, Unload: true}
	}
	return Capabilities{Catalog: true, Downloaded: true, Loaded: true, Download: true, Load: true, Unload: true}
}

func (f *FoundryManager) note(format string, args ...any) {
	if f.Note != nil {
		f.Note(fmt.Sprintf(format, args...))
	}
}

// Models lists one set of models:
//
//   - CatalogSet: GET /foundry/list, one Model per variant in the service's
//     order, with Downloaded and Loaded from /openai/models and
//     /openai/loadedmodels (nil when that list could not be read);
//   - DownloadedSet: GET /openai/models, Loaded filled when known;
//   - LoadedSet: GET /openai/loadedmodels.
//
// On the 1.x web service: CatalogSet is GET /v1/models (every variant,
// device and execution provider read from the id, or from the CLI's
// variant table when the `foundry` CLI is on PATH), Loaded from
// /models/loaded, Downloaded from the CLI (nil without it); DownloadedSet
// is the CLI's listing (ErrUnsupported without the CLI); LoadedSet is GET
// /models/loaded.
func (f *FoundryManager) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	if f.is1x(ctx) {
		return f.models1x(ctx, set)
	}
	switch set {
	case CatalogSet:
		return f.catalogModels(ctx)
	case DownloadedSet:
		ids, err := f.ids(ctx, "/openai/models")
		if err != nil {
			return nil, err
		}
		loaded, lerr := f.ids(ctx, "/openai/loadedmodels")
		if lerr != nil {
			f.note("foundry: loaded models unknown: %v", lerr)
		}
		out := make([]Model, 0, len(ids))
		for _, id := range ids {
			m := Model{ID: id, Downloaded: foundryBool(true)}
			if lerr == nil {
				m.Loaded = foundryBool(foundryListed(loaded, id))
			}
			out = append(out, m)
		}
		return out, nil
	case LoadedSet:
		ids, err := f.ids(ctx, "/openai/loadedmodels")
		if err != nil {
			return nil, err
		}
		out := make([]Model, 0, len(ids))
		for _, id := range ids {
			out = append(out, Model{ID: id, Downloaded: foundryBool(true), Loaded: foundryBool(true)})
		}
		return out, nil
	}
	return nil, fmt.Errorf("foundry: unknown model set %q (want %s, %s or %s)", set, CatalogSet, DownloadedSet, LoadedSet)
}

// catalogModels lists the catalog with each variant's download and load state.
func (f *FoundryManager) catalogModels(ctx context.Context) ([]Model, error) {
	entries, notes, err := f.Catalog(ctx)
	for _, n := range notes {
		f.note("%s", n)
	}
	if err != nil {
		return nil, err
	}
	cached, cerr := f.ids(ctx, "/openai/models")
	if cerr != nil {
		f.note("foundry: downloaded models unknown: %v", cerr)
	}
	loaded, lerr := f.ids(ctx, "/openai/loadedmodels")
	if lerr != nil {
		f.note("foundry: loaded models unknown: %v", lerr)
	}
	out := make([]Model, 0, len(entries))
	for _, e := range entries {
		m := e.model()
		if cerr == nil {
			m.Downloaded = foundryBool(foundryListed(cached, e.Name))
		}
		if lerr == nil {
			m.Loaded = foundryBool(foundryListed(loaded, e.Name))
			if *m.Loaded {
				m.Downloaded = foundryBool(true)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Load loads id (GET /openai/load/{id}) and returns how long the service
// took, measured around the request: the service answers once the model is
// in memory. opts.TTL > 0 is sent as ttl in whole seconds (rounded up); a
// negative TTL sends unload=false (never unloaded automatically); 0 sends
// neither, leaving the service's default. opts.ExecutionProvider is sent as
// ep, lower-cased without "ExecutionProvider" ("CUDAExecutionProvider" and
// "cuda" both send ep=cuda). A non-2xx answer is an error quoting the body.
//
// On the 1.x web service it is GET /models/load/{id}, which takes neither
// a TTL (the service keeps a model until it is unloaded) nor an execution
// provider (the variant decides: an opts.ExecutionProvider that the id's
// own contradicts is an error). A model already loaded returns 0 and a
// Note; an unknown id and a model not downloaded yet are errors saying so.
func (f *FoundryManager) Load(ctx context.Context, id string, opts LoadOptions) (time.Duration, error) {
	if id == "" {
		return 0, errors.New("foundry: load: no model id")
	}
	if f.is1x(ctx) {
		took, status, err := f.load1x(ctx, id, opts)
		if status == foundryAlreadyLoaded {
			f.note("foundry: %s was already loaded; nothing was loaded", id)
			return 0, err
		}
		return took, err
	}
	q := url.Values{}
	switch {
	case opts.TTL > 0:
		q.Set("ttl", strconv.FormatInt(int64(math.Ceil(opts.TTL.Seconds())), 10))
	case opts.TTL < 0:
		q.Set("unload", "false")
	}
	if ep := foundryEPParam(opts.ExecutionProvider); ep != "" {
		q.Set("ep", ep)
	}
	u := f.root + "/openai/load/" + url.PathEscape(id)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	start := time.Now()
	_, err := f.do(ctx, f.hc, u)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("foundry: load %s: %w", id, err)
	}
	return took, nil
}

// Unload unloads id (GET /openai/unload/{id}?force=true, which ignores the
// TTL). A model that is not loaded is not an error: /openai/loadedmodels is
// checked first, since the service refuses to unload a model it has not
// loaded. On the 1.x web service it is GET /models/unload/{id}, whose
// "not_loaded" answer is not an error either.
func (f *FoundryManager) Unload(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("foundry: unload: no model id")
	}
	if f.is1x(ctx) {
		_, err := f.unload1x(ctx, id)
		return err
	}
	loaded, err := f.ids(ctx, "/openai/loadedmodels")
	if err != nil {
		return fmt.Errorf("foundry: unload %s: %w", id, err)
	}
	listed := ""
	for _, l := range loaded {
		if foundrySameID(l, id) {
			listed = l
			break
		}
	}
	if listed == "" {
		return nil
	}
	if _, err := f.do(ctx, f.hc, f.root+"/openai/unload/"+url.PathEscape(listed)+"?force=true"); err != nil {
		return fmt.Errorf("foundry: unload %s: %w", id, err)
	}
	return nil
}

// EnsureLoaded makes sure id is loaded before a request: it checks
// /openai/loadedmodels and loads id with opts when it is absent (a TTL ran
// out mid-run, or the service restarted). reloaded reports a load, and took
// its duration, which a runner must keep apart from the request's TTFT. On
// the 1.x web service, which answers a chat for an unloaded model with 400
// "Model not loaded" instead of loading it, the list is GET /models/loaded
// and the load GET /models/load/{id}; a model that turns out to be
// "already_loaded" is no reload.
func (f *FoundryManager) EnsureLoaded(ctx context.Context, id string, opts LoadOptions) (reloaded bool, took time.Duration, err error) {
	if f.is1x(ctx) {
		return f.ensureLoaded1x(ctx, id, opts)
	}
	loaded, err := f.ids(ctx, "/openai/loadedmodels")
	if err != nil {
		return false, 0, fmt.Errorf("foundry: is %s loaded: %w", id, err)
	}
	if foundryListed(loaded, id) {
		return false, 0, nil
	}
	took, err = f.Load(ctx, id, opts)
	return err == nil, took, err
}

// foundryEPParam turns an execution provider name into the load route's ep
// parameter: the lower-cased prefix ("CUDAExecutionProvider" → "cuda").
func foundryEPParam(ep string) string {
	s := strings.ToLower(strings.TrimSpace(ep))
	return strings.TrimSuffix(s, "executionprovider")
}

// do GETs u and returns the body of a 2xx answer; other statuses are errors
// quoting the start of the body.
func (f *FoundryManager) do(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, foundryStatusError(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, foundryMaxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %v", err)
	}
	if len(body) > foundryMaxJSON {
		return nil, fmt.Errorf("answer larger than %d MiB", foundryMaxJSON>>20)
	}
	return body, nil
}

// foundryStatusError describes a non-2xx answer with the start of its body.
func foundryStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, foundryMaxError))
	msg := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if msg == "" {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
}

// ids reads a list of model ids: a JSON array, or {"models":[…]} (as the
// Rust SDK accepts). Elements may be strings or objects with a name or id;
// anything else is skipped.
func (f *FoundryManager) ids(ctx context.Context, path string) ([]string, error) {
	body, err := f.do(ctx, f.hc, f.root+path)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	ids, err := foundryParseIDs(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return ids, nil
}

// foundryParseIDs decodes a list of ids (see ids).
func foundryParseIDs(body []byte) ([]string, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		var obj struct {
			Models []json.RawMessage
		}
		if err2 := json.Unmarshal(body, &obj); err2 != nil {
			return nil, fmt.Errorf("not a JSON list of model ids: %v", err)
		}
		list = obj.Models
	}
	ids := make([]string, 0, len(list))
	for _, raw := range list {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var o struct{ Name, ID string }
			if json.Unmarshal(raw, &o) != nil {
				continue
			}
			s = o.Name
			if s == "" {
				s = o.ID
			}
		}
		if s = strings.TrimSpace(s); s != "" {
			ids = append(ids, s)
		}
	}
	return ids, nil
}

// foundrySameID compares model ids as the service's lists spell them:
// case-insensitively, and an id without ":version" matches every version
// of itself ("phi-4-mini-generic-cpu" matches "Phi-4-mini-generic-cpu:2";
// ":1" and ":2" do not match each other).
func foundrySameID(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ab, _, av := foundrySplitVersion(a)
	bb, _, bv := foundrySplitVersion(b)
	return av != bv && strings.EqualFold(ab, bb)
}

// foundrySplitVersion splits "name:version" at its last colon; has is false
// when id has no version suffix.
func foundrySplitVersion(id string) (base, version string, has bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return id, "", false
	}
	return id[:i], id[i+1:], true
}

// foundryListed reports whether id is in list (foundrySameID).
func foundryListed(list []string, id string) bool {
	for _, l := range list {
		if foundrySameID(l, id) {
			return true
		}
	}
	return false
}

func foundryBool(b bool) *bool { return &b }
