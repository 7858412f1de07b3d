package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FoundryGeneration names a generation of the Foundry Local service
// (docs/engines.md §1.1). The two share no management route.
type FoundryGeneration string

// The Foundry Local generations.
const (
	// FoundryLegacy is the service of CLI 0.4–0.8.x: /openai/*, /foundry/list.
	FoundryLegacy FoundryGeneration = "legacy"
	// Foundry1x is the web service of SDK 1.x and CLI 0.10+: /status,
	// /models/loaded, /models/load/{id}, /models/unload/{id}, /v1/*.
	Foundry1x FoundryGeneration = "1.x"
)

// foundryGenerationOf is the generation implied by the CLI command that
// found the service: `foundry server status` exists from CLI 0.10 on,
// `foundry service status` up to 0.8.x. Anything else is unknown ("").
func foundryGenerationOf(info Info) FoundryGeneration {
	switch {
	case strings.HasPrefix(info.DetectedBy, "foundry server"):
		return Foundry1x
	case strings.HasPrefix(info.DetectedBy, "foundry service"):
		return FoundryLegacy
	}
	return ""
}

// Generation returns the generation of the service: the one implied by the
// CLI command that found it, else the one its endpoints answer as
// (FoundryGenerationAt), remembered once known. A failed probe is not
// remembered.
func (f *FoundryManager) Generation(ctx context.Context) (FoundryGeneration, error) {
	f.genMu.Lock()
	g := f.gen
	f.genMu.Unlock()
	if g != "" {
		return g, nil
	}
	g, err := FoundryGenerationAt(ctx, f.hc, f.info.Endpoint)
	if err != nil {
		return "", err
	}
	f.genMu.Lock()
	f.gen = g
	f.genMu.Unlock()
	return g, nil
}

// is1x reports whether the service is known to be of the 1.x generation.
// When the generation cannot be probed the legacy routes are used, whose
// own errors then say what is wrong.
func (f *FoundryManager) is1x(ctx context.Context) bool {
	g, err := f.Generation(ctx)
	return err == nil && g == Foundry1x
}

// FoundryGenerationAt identifies a Foundry Local service by its own
// answers: GET /status answering a JSON object with "endpoints" or
// "modelCachePath" is the 1.x web service; GET /openai/status answering one
// with "Endpoints", "ModelDirPath" or "PipeName" is the legacy service.
// base is the OpenAI base URL (…/v1); hc nil uses a 5-second client. An
// error wrapping ErrUnreachable means nothing answered HTTP.
func FoundryGenerationAt(ctx context.Context, hc *http.Client, base string) (FoundryGeneration, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	r := root(base)
	var errs []string
	unreachable := 0
	for _, c := range []struct {
		path string
		gen  FoundryGeneration
		keys []string
	}{
		{"/status", Foundry1x, []string{"endpoints", "modelCachePath"}},
		{"/openai/status", FoundryLegacy, []string{"Endpoints", "ModelDirPath", "PipeName"}},
	} {
		keys, err := foundryObjectKeys(ctx, hc, r+c.path)
		if err != nil {
			if errors.Is(err, ErrUnreachable) {
				unreachable++
			}
			errs = append(errs, fmt.Sprintf("GET %s: %v", c.path, err))
			continue
		}
		for _, k := range c.keys {
			if slices.ContainsFunc(keys, func(s string) bool { return strings.EqualFold(s, k) }) {
				return c.gen, nil
			}
		}
		errs = append(errs, fmt.Sprintf("GET %s: a JSON object without %s", c.path, strings.Join(c.keys, " or ")))
	}
	if unreachable == 2 {
		return "", fmt.Errorf("foundry: %s: %w (%s)", r, ErrUnreachable, strings.Join(errs, "; "))
	}
	return "", fmt.Errorf("foundry: %s answers neither like Foundry Local 1.x nor like the legacy service (%s)", r, strings.Join(errs, "; "))
}

// foundryObjectKeys GETs u and returns the keys of the JSON object it
// answers with (at most 1 MiB).
func foundryObjectKeys(ctx context.Context, hc *http.Client, u string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, errors.New("not a JSON object")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	return keys, nil
}

// The 1.x load and unload answers' "status" values.
const (
	foundryLoaded        = "loaded"
	foundryAlreadyLoaded = "already_loaded"
	foundryUnloaded      = "unloaded"
	foundryNotLoaded     = "not_loaded"
)

// foundry1xError is a 1.x error answer: the HTTP status and the service's
// own message ({"error":{"message",…}}, or the body's start when it is not
// that shape).
type foundry1xError struct {
	Status  int
	Message string
}

func (e *foundry1xError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// get1x GETs path on the service and returns the body of a 2xx answer;
// other statuses are *foundry1xError.
func (f *FoundryManager) get1x(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.root+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, foundryMaxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %v", err)
	}
	if len(body) > foundryMaxJSON {
		return nil, fmt.Errorf("answer larger than %d MiB", foundryMaxJSON>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error *struct{ Message string }
		}
		msg := ""
		if json.Unmarshal(body, &e) == nil && e.Error != nil {
			msg = e.Error.Message
		} else {
			msg = string(body[:min(len(body), foundryMaxError)])
		}
		return nil, &foundry1xError{Status: resp.StatusCode, Message: strings.TrimSpace(strings.ToValidUTF8(msg, "\uFFFD"))}
	}
	return body, nil
}

// status1x GETs a 1.x load or unload route and returns its "status".
func (f *FoundryManager) status1x(ctx context.Context, path string) (string, error) {
	body, err := f.get1x(ctx, path)
	if err != nil {
		return "", err
	}
	var v struct{ Status string }
	if err := json.Unmarshal(body, &v); err != nil || v.Status == "" {
		return "", fmt.Errorf("no status in the answer: %s", foundryClip(strings.TrimSpace(string(body)), foundryMaxStatus))
	}
	return v.Status, nil
}

// loaded1x lists the loaded ids (GET /models/loaded).
func (f *FoundryManager) loaded1x(ctx context.Context) ([]string, error) {
	body, err := f.get1x(ctx, "/models/loaded")
	if err != nil {
		return nil, fmt.Errorf("GET /models/loaded: %w", err)
	}
	ids, err := foundryParseIDs(body)
	if err != nil {
		return nil, fmt.Errorf("GET /models/loaded: %w", err)
	}
	return ids, nil
}

// foundry1xCatalog is the 1.x catalog with what is known of each variant.
type foundry1xCatalog struct {
	entries []FoundryEntry
	cached  []*bool // per entry: downloaded (nil: unknown, no CLI or it failed)
	notes   []string
}

// catalog1x builds the catalog of the 1.x web service: GET /v1/models,
// which lists every catalog variant (cached or not), in the service's
// order. Each id's device and execution provider are read from its suffix
// (foundryParseVariantID), its alias taken as the id without its version
// and suffix. When the `foundry` CLI is on PATH, its variant table
// (`foundry model list --variants`) supplies the real alias, device,
// execution provider, size and download state of each variant it lists; a
// CLI failure is a note, not an error. Unusable list entries are skipped
// with a note.
func (f *FoundryManager) catalog1x(ctx context.Context) (foundry1xCatalog, error) {
	var c foundry1xCatalog
	body, err := f.get1x(ctx, "/v1/models")
	if err != nil {
		return c, fmt.Errorf("foundry: catalog: GET /v1/models: %w", err)
	}
	ids, notes, err := foundryParseModelList(body)
	c.notes = notes
	if err != nil {
		return c, fmt.Errorf("foundry: catalog: GET /v1/models: %w", err)
	}
	var rows []foundryCLIModel
	cli := foundryCLIFound()
	if cli {
		if rows, err = f.cliModels(ctx); err != nil {
			cli = false
			c.notes = append(c.notes, fmt.Sprintf("foundry: download state and aliases unknown: %v", err))
		}
	}
	for _, id := range ids {
		family, dev, ep := foundryParseVariantID(id)
		e := FoundryEntry{Name: id, Alias: family, Device: dev, ExecutionProvider: ep}
		var cached *bool
		if cli { // a variant the CLI does not list is not downloaded
			cached = foundryBool(false)
			if i := slices.IndexFunc(rows, func(r foundryCLIModel) bool { return foundrySameID(r.ID, id) }); i >= 0 {
				r := rows[i]
				cached = r.Cached
				e.Alias = foundryOr(r.Alias, e.Alias)
				e.Device = foundryOr(r.Device, e.Device)
				e.ExecutionProvider = foundryOr(r.EP, e.ExecutionProvider)
				e.FileSizeMB = r.SizeMB
			}
		}
		c.entries = append(c.entries, e)
		c.cached = append(c.cached, cached)
	}
	f.rememberAliases(c.entries, cli)
	return c, nil
}

// foundryOr returns a unless it is empty, else b.
func foundryOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// foundryParseModelList reads an OpenAI model list ({"data":[{"id":…}]})
// in order; entries without an id, and ids seen before, are skipped with a
// note.
func foundryParseModelList(body []byte) (ids, notes []string, err error) {
	var list struct {
		Data []json.RawMessage
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, fmt.Errorf("not an OpenAI model list: %v", err)
	}
	seen := map[string]bool{}
	for i, raw := range list.Data {
		var m struct{ ID foundryText }
		if json.Unmarshal(raw, &m) != nil || m.ID == "" {
			notes = append(notes, fmt.Sprintf("foundry: /v1/models entry %d skipped: it has no id", i))
			continue
		}
		id := string(m.ID)
		if seen[strings.ToLower(id)] {
			notes = append(notes, fmt.Sprintf("foundry: /v1/models entry %d skipped: %q is listed twice", i, id))
			continue
		}
		seen[strings.ToLower(id)] = true
		ids = append(ids, id)
	}
	return ids, notes, nil
}

// foundryVariantSuffixes map the variant suffixes of Foundry Local model
// ids (docs/engines.md §1.5) to a device and, where the suffix names one, an
// execution provider. "-generic-gpu" names none: it has been DirectML and
// WebGPU on different releases.
var foundryVariantSuffixes = []struct{ suffix, device, ep string }{
	{"-generic-cpu", "CPU", "CPUExecutionProvider"},
	{"-generic-gpu", "GPU", ""},
	{"-cuda-gpu", "GPU", "CUDAExecutionProvider"},
	{"-dml-gpu", "GPU", "DmlExecutionProvider"},
	{"-webgpu-gpu", "GPU", "WebGpuExecutionProvider"},
	{"-qnn-npu", "NPU", "QNNExecutionProvider"},
	{"-openvino-npu", "NPU", "OpenVINOExecutionProvider"},
	{"-openvino-gpu", "GPU", "OpenVINOExecutionProvider"},
	{"-openvino-cpu", "CPU", "OpenVINOExecutionProvider"},
	{"-vitis-npu", "NPU", "VitisAIExecutionProvider"},
	{"-trtrtx-gpu", "GPU", "NvTensorRTRTXExecutionProvider"},
}

// foundryParseVariantID reads what a variant id encodes:
// "qwen2.5-0.5b-instruct-generic-cpu:3" is family "qwen2.5-0.5b-instruct"
// on CPU with CPUExecutionProvider, "…-cuda-gpu" GPU with CUDA, "…-qnn-npu"
// NPU with QNN. An unknown "-<x>-cpu|gpu|npu" suffix gives the device
// only; an id with no such suffix gives its base as the family and nothing
// else. Suffixes match case-insensitively.
func foundryParseVariantID(id string) (family, device, ep string) {
	base, _, _ := foundrySplitVersion(strings.TrimSpace(id))
	low := strings.ToLower(base)
	for _, s := range foundryVariantSuffixes {
		if strings.HasSuffix(low, s.suffix) && len(low) > len(s.suffix) {
			return base[:len(base)-len(s.suffix)], s.device, s.ep
		}
	}
	i := strings.LastIndexByte(low, '-')
	if i <= 0 {
		return base, "", ""
	}
	dev := strings.ToUpper(low[i+1:])
	if dev != "CPU" && dev != "GPU" && dev != "NPU" {
		return base, "", ""
	}
	rest := base[:i]
	switch j := strings.LastIndexByte(rest, '-'); {
	case j == 0:
		return base, "", "" // "-x-gpu": no family
	case j > 0:
		rest = rest[:j] // "<family>-<x>-gpu"
	}
	return rest, dev, ""
}

// models1x is Models on the 1.x web service:
//
//   - CatalogSet: catalog1x, with Loaded from /models/loaded and
//     Downloaded from the CLI (nil without it);
//   - DownloadedSet: the variants the CLI lists as cached, Loaded from
//     /models/loaded; ErrUnsupported without the CLI;
//   - LoadedSet: GET /models/loaded, device and provider from the ids.
func (f *FoundryManager) models1x(ctx context.Context, set ModelSet) ([]Model, error) {
	switch set {
	case CatalogSet:
		c, err := f.catalog1x(ctx)
		for _, n := range c.notes {
			f.note("%s", n)
		}
		if err != nil {
			return nil, err
		}
		loaded, lerr := f.loaded1x(ctx)
		if lerr != nil {
			f.note("foundry: loaded models unknown: %v", lerr)
		}
		out := make([]Model, 0, len(c.entries))
		for i, e := range c.entries {
			m := e.model()
			m.Downloaded = c.cached[i]
			if lerr == nil {
				m.Loaded = foundryBool(foundryListed(loaded, e.Name))
				if *m.Loaded {
					m.Downloaded = foundryBool(true)
				}
			}
			out = append(out, m)
		}
		return out, nil
	case DownloadedSet:
		if !foundryCLIFound() {
			return nil, foundryNoCLIError("list downloaded models", "`foundry cache list`")
		}
		rows, err := f.cliModels(ctx)
		if err != nil {
			return nil, fmt.Errorf("foundry: downloaded models: %w", err)
		}
		loaded, lerr := f.loaded1x(ctx)
		if lerr != nil {
			f.note("foundry: loaded models unknown: %v", lerr)
		}
		var out []Model
		for _, r := range rows {
			if r.Cached == nil || !*r.Cached {
				continue
			}
			m := r.model()
			if lerr == nil {
				m.Loaded = foundryBool(foundryListed(loaded, r.ID))
			}
			out = append(out, m)
		}
		return out, nil
	case LoadedSet:
		ids, err := f.loaded1x(ctx)
		if err != nil {
			return nil, fmt.Errorf("foundry: %w", err)
		}
		out := make([]Model, 0, len(ids))
		for _, id := range ids {
			family, dev, ep := foundryParseVariantID(id)
			out = append(out, Model{ID: id, Alias: family, Device: dev, ExecutionProvider: ep,
				Downloaded: foundryBool(true), Loaded: foundryBool(true)})
		}
		return out, nil
	}
	return nil, fmt.Errorf("foundry: unknown model set %q (want %s, %s or %s)", set, CatalogSet, DownloadedSet, LoadedSet)
}

// resolve1x is Resolve on the 1.x web service, over catalog1x: the same
// rules, except that an alias prefers a downloaded variant, as SDK 1.x does
// (then the service's order). Downloaded is set when the CLI could say,
// Loaded when /models/loaded could.
func (f *FoundryManager) resolve1x(ctx context.Context, key, device string) (Model, error) {
	c, err := f.catalog1x(ctx)
	for _, n := range c.notes {
		f.note("%s", n)
	}
	if err != nil {
		return Model{}, err
	}
	order := make([]int, len(c.entries))
	for i := range order {
		order[i] = i
	}
	isCached := func(i int) bool { return c.cached[i] != nil && *c.cached[i] }
	slices.SortStableFunc(order, func(a, b int) int {
		switch ca, cb := isCached(a), isCached(b); {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	entries := make([]FoundryEntry, len(order))
	for i, j := range order {
		entries[i] = c.entries[j]
	}
	p, err := foundryResolveRules(entries, key, device, foundryRules{cachedFirst: true})
	if err != nil {
		return Model{}, err
	}
	e := p.FoundryEntry
	m := p.model(key)
	for i, ce := range c.entries {
		if ce.Name == e.Name {
			m.Downloaded = c.cached[i]
		}
	}
	if loaded, err := f.loaded1x(ctx); err == nil {
		m.Loaded = foundryBool(foundryListed(loaded, e.Name))
		if *m.Loaded {
			m.Downloaded = foundryBool(true)
		}
	}
	return m, nil
}
