package dialect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"flperf/internal/sim"
)

// FoundryOptions configure the Foundry Local dialect. The zero value serves
// the legacy generation's API over DefaultFoundryCatalog with nothing
// downloaded.
type FoundryOptions struct {
	// Generation selects the service generation served: FoundryLegacy (the
	// default, also "") or Foundry1x (the 1.x SDK / CLI 0.10+ web service,
	// docs/engines.md §1.8: /status, /models/*, /v1/*, no /openai/* or
	// /foundry/* routes, no HTTP download).
	Generation string
	// Catalog is served by GET /foundry/list (1.x: GET /v1/models), in this
	// order (the service's order). Nil: DefaultFoundryCatalog(). Names must be unique
	// (case-insensitively) and valid sim profile names.
	Catalog []FoundryEntry
	// RawCatalogEntries are appended verbatim to /foundry/list, to serve
	// entries a real catalog should not contain (no name, wrong types, not
	// an object). They cannot be downloaded, loaded or chatted with.
	RawCatalogEntries []json.RawMessage
	// CatalogError, when set, makes /foundry/list fail with HTTP 500 and
	// this text (Foundry-Local #78: "No models were returned from the Azure
	// Foundry catalog").
	CatalogError string
	// Downloaded are the ids in the cache at start (each must name a
	// Catalog entry, case-insensitively).
	Downloaded []string
	// ModelsObject makes /openai/models and /openai/loadedmodels answer
	// {"models":[…]} instead of a bare array (as the Rust SDK accepts).
	ModelsObject bool
	// BareIDs lists cached and loaded ids without their ":version" suffix.
	BareIDs bool

	// ProgressFormat selects the download progress framing: "percent" (the
	// default: "Total 52.10% Downloading model.onnx.data", "[DONE] All
	// Completed!", then {"success":…,"errorMessage":…} on one line) or
	// "tuple" (the REST doc's `("model.onnx.data", 0.52)` lines, then an
	// indented, multi-line {"Success":…,"ErrorMessage":…}).
	ProgressFormat string
	// DownloadSteps is the number of progress steps of a download (0: 5);
	// progress goes 0, 100/steps, … 100.
	DownloadSteps int
	// DownloadDelay is the pause before each progress line after the first.
	DownloadDelay time.Duration
	// FailDownloadAt makes downloads fail once progress would reach this
	// percentage (0: never): the lines below it are sent, then a final JSON
	// with success false and FailMessage.
	FailDownloadAt float64
	// FailMessage is the errorMessage of a failed download (empty: a
	// default naming the model).
	FailMessage string
	// NoDownloadResult ends download bodies after the progress lines,
	// without [DONE] or the final JSON.
	NoDownloadResult bool

	// LoadDelay is how long an explicit or implicit load takes (1.x: how
	// long GET /models/load takes to load a model, to measure cold starts).
	LoadDelay time.Duration
	// DefaultTTL is the TTL of a load without ttl (and unload not false) and
	// of an implicit load by chat (0: 600 s, the SDK's default). In 1.x
	// mode, whose load route takes no TTL, it is the TTL of every load, and
	// 0 means loaded models stay loaded until unloaded or Expire.
	DefaultTTL time.Duration
	// Now is the clock TTLs are measured with (nil: time.Now). A loaded
	// model is unloaded once Now reaches its load time plus its TTL; the
	// expiry is applied when the next request arrives.
	Now func() time.Time

	// FailStreamAfter (1.x only) makes every streamed chat completion fail
	// after this many SSE frames (0: never): the service's generation
	// exception, sent as `data: {"error":{…,"type":"server_error"}}`, then
	// the end of the body, without [DONE].
	FailStreamAfter int
	// FailStreamMessage is the message of that error frame (empty: a
	// default naming the model).
	FailStreamMessage string

	// Profile is the timing of every variant's chat completions; Name is
	// replaced by the variant id. Legacy: Usage is forced false and Slots
	// 1 (legacy Foundry runs requests one at a time, Foundry-Local #637),
	// and DefaultMaxTokens 0 becomes 512 (Foundry-Local #243). 1.x: Usage
	// is forced true (usage with stream_options.include_usage) and NoDone
	// false (a successful stream ends with [DONE]; only a FailStreamAfter
	// error frame ends one without it). A zero DecodeTPS selects a fast
	// default (20 ms TTFT, 500 tokens/s).
	Profile sim.Profile
}

// Generations of FoundryOptions.Generation.
const (
	FoundryLegacy = "legacy" // CLI ≤ 0.8.x: /openai/*, /foundry/list
	Foundry1x     = "1.x"    // SDK 1.x / CLI 0.10+ web service: /status, /models/*
)

// Progress framings of FoundryOptions.ProgressFormat.
const (
	FoundryProgressPercent = "percent"
	FoundryProgressTuple   = "tuple"
)

// FoundryRequest is one request the dialect received, for tests to assert.
type FoundryRequest struct {
	Method string
	Path   string     // unescaped URL path
	ID     string     // the {id} of /openai/load/{id}, /openai/unload/{id} (1.x: the {name} of /models/load/{name}, /models/unload/{name}), unescaped
	Query  url.Values // the query string
	Body   string     // POST /openai/download only: the body (first 64 KiB)
}

// FoundryStats count what the dialect did.
type FoundryStats struct {
	Loads         int // explicit loads (GET /openai/load, 1.x GET /models/load) that loaded a model
	ImplicitLoads int // loads caused by a chat naming a cached, unloaded model (legacy only)
	Unloads       int // GET /openai/unload (1.x GET /models/unload) that unloaded a model
	Expired       int // models unloaded by their TTL (or Expire)
	Downloads     int // downloads that completed successfully (legacy only)
	Chats         int // chat completions forwarded to the simulator
	NotLoaded     int // 1.x: chats refused with 400 "Model not loaded"
	StreamErrors  int // 1.x: streams ended by a FailStreamAfter error frame
}

// foundryMaxLog bounds the request log of a long-running dialect.
const foundryMaxLog = 10000

// Foundry is a simulated Foundry Local service, of the legacy generation
// (CLI ≤ 0.8.x, docs/engines.md §1.4–1.7) or of the 1.x web service (CLI
// 0.10+, §1.8), an http.Handler whose chat completions come from an
// embedded sim.Server. It never passes for the real service: every answer
// carries "X-FLPerf-Engine: simulated", and GET /flperf/sim says
// "simulated":true with "dialect":"foundry" and "dialect_generation". It is
// safe for concurrent use.
type Foundry struct {
	opts     FoundryOptions
	sim      *sim.Server
	mux      *http.ServeMux
	entries  []FoundryEntry
	listJSON []byte
	infoJSON []byte
	now      func() time.Time
	ttl      time.Duration // 0 (1.x only): loads never expire
	v1x      bool          // serving the 1.x web service

	mu       sync.Mutex
	cached   map[string]bool         // canonical names
	loaded   map[string]foundryModel // canonical name → load state
	log      []FoundryRequest
	stats    FoundryStats
	chunkSeq atomic.Int64 // stream chunks rewritten: their ids
}

// foundryModel is a loaded model.
type foundryModel struct {
	expires time.Time // zero: never unloaded by TTL
	ep      string
}

// NewFoundry returns the dialect for opts, or an error naming every problem
// with them.
func NewFoundry(opts FoundryOptions) (*Foundry, error) {
	f := &Foundry{
		opts:    opts,
		entries: opts.Catalog,
		now:     opts.Now,
		ttl:     opts.DefaultTTL,
		v1x:     opts.Generation == Foundry1x,
		cached:  map[string]bool{},
		loaded:  map[string]foundryModel{},
	}
	if f.entries == nil {
		f.entries = DefaultFoundryCatalog()
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.ttl <= 0 {
		f.ttl = 600 * time.Second
		if f.v1x {
			f.ttl = 0
		}
	}
	var errs []error
	switch opts.Generation {
	case "", FoundryLegacy, Foundry1x:
	default:
		errs = append(errs, fmt.Errorf("dialect: foundry: Generation %q: want %q or %q", opts.Generation, FoundryLegacy, Foundry1x))
	}
	errs = append(errs, opts.generationErrors(f.v1x)...)
	switch opts.ProgressFormat {
	case "", FoundryProgressPercent, FoundryProgressTuple:
	default:
		errs = append(errs, fmt.Errorf("dialect: foundry: ProgressFormat %q: want %q or %q", opts.ProgressFormat, FoundryProgressPercent, FoundryProgressTuple))
	}
	if opts.DownloadSteps < 0 {
		errs = append(errs, fmt.Errorf("dialect: foundry: DownloadSteps must not be negative (got %d)", opts.DownloadSteps))
	}
	if len(f.entries) == 0 {
		errs = append(errs, errors.New("dialect: foundry: the catalog is empty (use CatalogError to simulate a failing catalog)"))
	}
	seen := map[string]bool{}
	profiles := make([]sim.Profile, 0, len(f.entries))
	for _, e := range f.entries {
		if seen[strings.ToLower(e.Name)] {
			errs = append(errs, fmt.Errorf("dialect: foundry: catalog name %q is used twice", e.Name))
			continue
		}
		seen[strings.ToLower(e.Name)] = true
		p := opts.Profile
		if p.DecodeTPS == 0 {
			p = sim.Profile{TTFT: 20 * time.Millisecond, DecodeTPS: 500, Seed: p.Seed}
		}
		if p.DefaultMaxTokens == 0 && !f.v1x {
			p.DefaultMaxTokens = 512
		}
		if f.v1x {
			p.Name, p.Usage, p.ContinuousUsage, p.NoDone = e.Name, true, false, false
		} else {
			p.Name, p.Usage, p.ContinuousUsage, p.Slots = e.Name, false, false, 1
		}
		profiles = append(profiles, p)
	}
	for _, id := range opts.Downloaded {
		e, ok := f.lookup(id)
		if !ok {
			errs = append(errs, fmt.Errorf("dialect: foundry: Downloaded id %q is not in the catalog", id))
			continue
		}
		f.cached[e.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s, err := sim.New(profiles...)
	if err != nil {
		return nil, fmt.Errorf("dialect: foundry: %w", err)
	}
	f.sim = s
	if err := f.buildJSON(); err != nil {
		return nil, err
	}
	f.routes()
	return f, nil
}

// buildJSON prepares the fixed answers of /foundry/list and /flperf/sim.
func (f *Foundry) buildJSON() error {
	list := make([]json.RawMessage, 0, len(f.entries)+len(f.opts.RawCatalogEntries))
	for _, e := range f.entries {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("dialect: foundry: catalog entry %q: %w", e.Name, err)
		}
		list = append(list, b)
	}
	for i, raw := range f.opts.RawCatalogEntries {
		if !json.Valid(raw) {
			return fmt.Errorf("dialect: foundry: RawCatalogEntries[%d] is not valid JSON", i)
		}
		list = append(list, raw)
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("dialect: foundry: catalog: %w", err)
	}
	f.listJSON = append(b, '\n')

	// The simulator's own description, plus the dialect's name.
	rec := httptest.NewRecorder()
	f.sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/flperf/sim", nil))
	info := map[string]json.RawMessage{}
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		return fmt.Errorf("dialect: foundry: simulator info: %w", err)
	}
	info["dialect"] = json.RawMessage(`"foundry"`)
	info["dialect_generation"] = json.RawMessage(`"legacy (CLI <= 0.8.x)"`)
	if f.v1x {
		info["dialect_generation"] = json.RawMessage(`"1.x (SDK 1.x, CLI 0.10+)"`)
	}
	b, _ = json.Marshal(info)
	f.infoJSON = append(b, '\n')
	return nil
}

// Sim returns the embedded simulator that generates the chat completions
// (for its Stats and SetTrace).
func (f *Foundry) Sim() *sim.Server { return f.sim }

// Catalog returns the catalog entries served (RawCatalogEntries excluded).
func (f *Foundry) Catalog() []FoundryEntry { return slices.Clone(f.entries) }

// Requests returns the requests received so far (at most the last 10,000),
// oldest first.
func (f *Foundry) Requests() []FoundryRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Stats returns what the dialect did so far.
func (f *Foundry) Stats() FoundryStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Cached returns the canonical ids in the cache, in catalog order.
func (f *Foundry) Cached() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.idsLocked(func(name string) bool { return f.cached[name] })
}

// Loaded returns the canonical ids loaded now (TTLs applied), in catalog order.
func (f *Foundry) Loaded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLocked()
	return f.idsLocked(func(name string) bool { _, ok := f.loaded[name]; return ok })
}

// Expire unloads id as if its TTL had run out and reports whether it was
// loaded.
func (f *Foundry) Expire(id string) bool {
	e, ok := f.lookup(id)
	if !ok {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.loaded[e.Name]; !ok {
		return false
	}
	delete(f.loaded, e.Name)
	f.stats.Expired++
	return true
}

func (f *Foundry) idsLocked(keep func(string) bool) []string {
	var ids []string
	for _, e := range f.entries {
		if keep(e.Name) {
			ids = append(ids, e.Name)
		}
	}
	return ids
}

// expireLocked unloads the models whose TTL has run out.
func (f *Foundry) expireLocked() {
	now := f.now()
	for name, m := range f.loaded {
		if !m.expires.IsZero() && !now.Before(m.expires) {
			delete(f.loaded, name)
			f.stats.Expired++
		}
	}
}

// lookup finds a catalog entry by id: the exact name, case-insensitively,
// or, for an id without ":version", the entry of that name with the highest
// integer version.
func (f *Foundry) lookup(id string) (FoundryEntry, bool) {
	for _, e := range f.entries {
		if strings.EqualFold(e.Name, id) {
			return e, true
		}
	}
	if id == "" || strings.Contains(id, ":") {
		return FoundryEntry{}, false
	}
	best, bestV := -1, -2
	for i, e := range f.entries {
		base, ver, ok := strings.Cut(e.Name, ":")
		if !ok || !strings.EqualFold(base, id) {
			continue
		}
		v, err := strconv.Atoi(ver)
		if err != nil {
			v = -1
		}
		if v > bestV {
			best, bestV = i, v
		}
	}
	if best < 0 {
		return FoundryEntry{}, false
	}
	return f.entries[best], true
}

// listID is how /openai/models and /openai/loadedmodels spell a name.
func (f *Foundry) listID(name string) string {
	if f.opts.BareIDs {
		base, _, _ := strings.Cut(name, ":")
		return base
	}
	return name
}

// routes builds the route table (docs/engines.md §1.4, §1.8 in 1.x mode).
func (f *Foundry) routes() {
	if f.v1x {
		f.routes1x()
		return
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /openai/status", f.status)
	m.HandleFunc("GET /foundry/list", f.list)
	m.HandleFunc("GET /openai/models", f.models)
	m.HandleFunc("GET /openai/loadedmodels", f.loadedModels)
	m.HandleFunc("GET /openai/load/{id}", f.load)
	m.HandleFunc("GET /openai/unload/{id}", f.unload)
	m.HandleFunc("GET /openai/unloadall", f.unloadAll)
	m.HandleFunc("POST /openai/download", f.download)
	m.HandleFunc("POST /v1/chat/completions", f.chat)
	m.Handle("GET /v1/models", f.sim)
	m.Handle("GET /v1/models/{id}", f.sim)
	m.HandleFunc("GET /flperf/sim", f.simInfo)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		foundryText(w, http.StatusNotFound, fmt.Sprintf("no route %s %s (flperf simulated Foundry Local)", r.Method, r.URL.Path))
	})
	f.mux = m
}

// simInfo answers GET /flperf/sim: which simulator this is (both
// generations).
func (f *Foundry) simInfo(w http.ResponseWriter, r *http.Request) {
	foundryJSON(w, http.StatusOK, f.infoJSON)
}

// ServeHTTP serves the legacy Foundry Local API:
//
//	GET  /openai/status            {"Endpoints":[…],"ModelDirPath":…,"PipeName":"inference_agent"}
//	GET  /foundry/list             the catalog
//	GET  /openai/models            cached ids
//	GET  /openai/loadedmodels      loaded ids
//	GET  /openai/load/{id}         ?ttl=<s>&ep=<ep>&unload=<bool>; 200 empty once loaded
//	GET  /openai/unload/{id}       ?force=<bool>; 200 empty; 400 when not loaded
//	GET  /openai/unloadall         200 empty
//	POST /openai/download          progress text, then a JSON result
//	POST /v1/chat/completions      the simulator, with the legacy stream quirks
//	GET  /v1/models[/{id}]         the simulator's model list (every variant)
//	GET  /flperf/sim               the simulator's description, with "dialect":"foundry"
//
// or, in 1.x mode (docs/engines.md §1.8; errors are {"error":{"message","type",
// "param","code"}}):
//
//	GET  /status                   {"modelCachePath":…,"endpoints":[…],"pid":…}
//	GET  /models/loaded            loaded ids
//	GET  /models/load/{alias}      the alias's selected variant: {"status":"loaded"|"already_loaded"};
//	                               404 for anything but an alias (a variant id too); 400 "Model not cached"
//	GET  /models/unload/{alias}    {"status":"unloaded"|"not_loaded"}; 404 for anything but an alias
//	GET  /v1/models[/{id}]         every catalog variant, cached or not
//	POST /v1/chat/completions      a variant id: 400 "Model not loaded" (no implicit load), 404 unknown;
//	                               usage with include_usage; [DONE] after a successful stream
//	GET  /flperf/sim               as above, "dialect_generation":"1.x …"
//
// Every answer carries the header X-FLPerf-Engine: simulated.
func (f *Foundry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(sim.EngineHeader, "simulated")
	req := FoundryRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	for _, p := range []string{"/openai/load/", "/openai/unload/", "/models/load/", "/models/unload/"} {
		if rest, ok := strings.CutPrefix(r.URL.Path, p); ok {
			req.ID = rest
		}
	}
	if r.Method == http.MethodPost && r.URL.Path == "/openai/download" && !f.v1x {
		// Read the body here so that the log holds it.
		b, err := io.ReadAll(io.LimitReader(r.Body, foundryMaxDownloadBody+1))
		if err != nil {
			foundryText(w, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		req.Body = string(b[:min(len(b), 64<<10)])
	}
	f.mu.Lock()
	f.expireLocked()
	if len(f.log) >= foundryMaxLog {
		f.log = slices.Delete(f.log, 0, len(f.log)-foundryMaxLog+1)
	}
	f.log = append(f.log, req)
	f.mu.Unlock()
	f.mux.ServeHTTP(w, r)
}

// Serve serves the dialect on ln until ctx is done, then shuts down: it
// stops accepting, gives requests in flight a second, and closes what is
// left. It returns nil after a shutdown or the listener's error. Serve
// closes ln. Listen with sim.Listen to stay on loopback.
func (f *Foundry) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dialect: foundry: %w", err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if hs.Shutdown(grace) != nil {
		hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dialect: foundry: %w", err)
	}
	return nil
}

func (f *Foundry) status(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(map[string]any{
		"Endpoints":    []string{"http://" + r.Host},
		"ModelDirPath": "/flperf-sim/foundry/cache/models",
		"PipeName":     "inference_agent",
	})
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

func (f *Foundry) list(w http.ResponseWriter, r *http.Request) {
	if f.opts.CatalogError != "" {
		foundryText(w, http.StatusInternalServerError, f.opts.CatalogError)
		return
	}
	foundryJSON(w, http.StatusOK, f.listJSON)
}

func (f *Foundry) models(w http.ResponseWriter, r *http.Request) {
	f.writeIDs(w, f.Cached())
}

func (f *Foundry) loadedModels(w http.ResponseWriter, r *http.Request) {
	f.writeIDs(w, f.Loaded())
}

func (f *Foundry) writeIDs(w http.ResponseWriter, names []string) {
	ids := make([]string, 0, len(names))
	for _, n := range names {
		ids = append(ids, f.listID(n))
	}
	var v any = ids
	if f.opts.ModelsObject {
		v = map[string]any{"models": ids}
	}
	b, _ := json.Marshal(v)
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

// foundryEPs are the values the ep parameter of a load accepts.
var foundryEPs = []string{"dml", "cuda", "qnn", "cpu", "webgpu"}

func (f *Foundry) load(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	e, ok := f.lookup(id)
	if !ok {
		foundryText(w, http.StatusNotFound, fmt.Sprintf("Model %s not found in the catalog", id))
		return
	}
	ttl := time.Duration(0)
	if s := q.Get("ttl"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			foundryText(w, http.StatusBadRequest, fmt.Sprintf("invalid ttl %q: want a number of seconds", s))
			return
		}
		ttl = time.Duration(n) * time.Second
	}
	autoUnload := true
	if s := q.Get("unload"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			foundryText(w, http.StatusBadRequest, fmt.Sprintf("invalid unload %q: want true or false", s))
			return
		}
		autoUnload = b
	}
	ep := strings.ToLower(q.Get("ep"))
	if ep != "" && !slices.Contains(foundryEPs, ep) {
		foundryText(w, http.StatusBadRequest, fmt.Sprintf("invalid ep %q: want one of %s", ep, strings.Join(foundryEPs, ", ")))
		return
	}
	f.mu.Lock()
	cached := f.cached[e.Name]
	_, already := f.loaded[e.Name]
	f.mu.Unlock()
	if !cached {
		foundryText(w, http.StatusBadRequest, fmt.Sprintf("Model %s is not downloaded: download it first", e.Name))
		return
	}
	if !already && !foundrySleep(r.Context(), f.opts.LoadDelay) {
		return
	}
	m := foundryModel{ep: ep}
	switch {
	case ttl > 0: // ttl overrides unload
		m.expires = f.now().Add(ttl)
	case autoUnload:
		m.expires = f.now().Add(f.ttl)
	}
	f.mu.Lock()
	if _, was := f.loaded[e.Name]; !was {
		f.stats.Loads++
	}
	f.loaded[e.Name] = m
	f.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (f *Foundry) unload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := f.lookup(id)
	if !ok {
		foundryText(w, http.StatusNotFound, fmt.Sprintf("Model %s not found in the catalog", id))
		return
	}
	f.mu.Lock()
	_, loaded := f.loaded[e.Name]
	if loaded {
		delete(f.loaded, e.Name)
		f.stats.Unloads++
	}
	f.mu.Unlock()
	if !loaded {
		foundryText(w, http.StatusBadRequest, fmt.Sprintf("Model %s is not loaded", e.Name))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *Foundry) unloadAll(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.stats.Unloads += len(f.loaded)
	clear(f.loaded)
	f.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// foundrySleep waits d or until ctx is done; false when ctx ended first.
func foundrySleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func foundryJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// foundryText answers an error as the legacy service does: plain text.
func foundryText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}
