package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"flperf/internal/sim"
)

// generationErrors names the options that do not apply to the generation
// served: the legacy download and list quirks in 1.x mode (1.x has no HTTP
// download and no /openai lists), the 1.x stream failure in legacy mode.
func (o FoundryOptions) generationErrors(v1x bool) []error {
	var errs []error
	bad := func(set bool, name, gen string) {
		if set {
			errs = append(errs, fmt.Errorf("dialect: foundry: %s applies to the %s generation only", name, gen))
		}
	}
	if v1x {
		bad(len(o.RawCatalogEntries) > 0, "RawCatalogEntries", FoundryLegacy)
		bad(o.CatalogError != "", "CatalogError", FoundryLegacy)
		bad(o.ModelsObject, "ModelsObject", FoundryLegacy)
		bad(o.BareIDs, "BareIDs", FoundryLegacy)
		bad(o.ProgressFormat != "", "ProgressFormat", FoundryLegacy)
		bad(o.DownloadSteps != 0, "DownloadSteps", FoundryLegacy)
		bad(o.DownloadDelay != 0, "DownloadDelay", FoundryLegacy)
		bad(o.FailDownloadAt != 0, "FailDownloadAt", FoundryLegacy)
		bad(o.FailMessage != "", "FailMessage", FoundryLegacy)
		bad(o.NoDownloadResult, "NoDownloadResult", FoundryLegacy)
	} else {
		bad(o.FailStreamAfter != 0, "FailStreamAfter", Foundry1x)
		bad(o.FailStreamMessage != "", "FailStreamMessage", Foundry1x)
	}
	if o.FailStreamAfter < 0 {
		errs = append(errs, fmt.Errorf("dialect: foundry: FailStreamAfter must not be negative (got %d)", o.FailStreamAfter))
	}
	return errs
}

// routes1x builds the 1.x web service's route table (docs/engines.md §1.8):
// none of the legacy /openai/* or /foundry/* routes.
func (f *Foundry) routes1x() {
	m := http.NewServeMux()
	m.HandleFunc("GET /status", f.status1x)
	m.HandleFunc("GET /models/loaded", f.loaded1x)
	m.HandleFunc("GET /models/load/{id}", f.load1x)
	m.HandleFunc("GET /models/unload/{id}", f.unload1x)
	m.HandleFunc("GET /v1/models", f.models1x)
	m.HandleFunc("GET /v1/models/{id}", f.model1x)
	m.HandleFunc("POST /v1/chat/completions", f.chat1x)
	m.HandleFunc("GET /flperf/sim", f.simInfo)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		foundryError1x(w, http.StatusNotFound, fmt.Sprintf("Not found: no route %s %s (flperf simulated Foundry Local 1.x)", r.Method, r.URL.Path))
	})
	f.mux = m
}

// foundryError1x answers an error as the 1.x web service does:
// {"error":{"message","type","param":null,"code":null}}, type
// invalid_request_error below 500 and server_error from 500.
func foundryError1x(w http.ResponseWriter, status int, msg string) {
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
	foundryJSON(w, status, append(b, '\n'))
}

// lookupAlias1x finds what the 1.x load and unload routes accept, as the
// public core's catalog.GetModel does: an alias, matched exactly (variant
// ids are not accepted: 404), standing for its selected variant, which is
// its first cached variant in catalog order, else its first variant.
func (f *Foundry) lookupAlias1x(alias string) (FoundryEntry, bool) {
	var first *FoundryEntry
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, e := range f.entries {
		if e.Alias == "" || e.Alias != alias {
			continue
		}
		if f.cached[e.Name] {
			return e, true
		}
		if first == nil {
			first = &f.entries[i]
		}
	}
	if first == nil {
		return FoundryEntry{}, false
	}
	return *first, true
}

func (f *Foundry) status1x(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(map[string]any{
		"modelCachePath": "/flperf-sim/foundry/cache/models",
		"endpoints":      []string{"http://" + r.Host},
		"pid":            os.Getpid(),
	})
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

func (f *Foundry) loaded1x(w http.ResponseWriter, r *http.Request) {
	ids := f.Loaded()
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

func foundryStatus1x(w http.ResponseWriter, status string) {
	b, _ := json.Marshal(map[string]string{"status": status})
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

// load1x serves GET /models/load/{name}: the name is an alias
// (lookupAlias1x; a variant id is 404, as in the public core), and its
// selected variant is loaded: already_loaded, 400 "Model not cached", or a
// load taking LoadDelay, with DefaultTTL as its TTL (0: none). Query
// parameters are logged and ignored, as the service has none.
func (f *Foundry) load1x(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := f.lookupAlias1x(id)
	if !ok {
		foundryError1x(w, http.StatusNotFound, fmt.Sprintf("Model not found: No model matching '%s'", id))
		return
	}
	f.mu.Lock()
	cached := f.cached[e.Name]
	_, already := f.loaded[e.Name]
	f.mu.Unlock()
	if already {
		foundryStatus1x(w, "already_loaded")
		return
	}
	if !cached {
		foundryError1x(w, http.StatusBadRequest, "Model not cached: Model must be downloaded before loading")
		return
	}
	if !foundrySleep(r.Context(), f.opts.LoadDelay) {
		return
	}
	status := "already_loaded"
	f.mu.Lock()
	if _, was := f.loaded[e.Name]; !was {
		m := foundryModel{}
		if f.ttl > 0 {
			m.expires = f.now().Add(f.ttl)
		}
		f.loaded[e.Name] = m
		f.stats.Loads++
		status = "loaded"
	}
	f.mu.Unlock()
	foundryStatus1x(w, status)
}

// unload1x serves GET /models/unload/{name}: an alias only, as load1x;
// its selected variant is unloaded (unloaded) or was not loaded
// (not_loaded).
func (f *Foundry) unload1x(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := f.lookupAlias1x(id)
	if !ok {
		foundryError1x(w, http.StatusNotFound, fmt.Sprintf("Model not found: No model matching '%s'", id))
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
		foundryStatus1x(w, "not_loaded")
		return
	}
	foundryStatus1x(w, "unloaded")
}

// foundryModel1x is one entry of the 1.x /v1/models list.
type foundryModel1x struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func foundryModelEntry1x(e FoundryEntry) foundryModel1x {
	owner := e.Publisher
	if owner == "" {
		owner = "system"
	}
	return foundryModel1x{ID: e.Name, Object: "model", OwnedBy: owner}
}

// models1x serves GET /v1/models: every catalog variant, cached or not.
func (f *Foundry) models1x(w http.ResponseWriter, r *http.Request) {
	data := make([]foundryModel1x, 0, len(f.entries))
	for _, e := range f.entries {
		data = append(data, foundryModelEntry1x(e))
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data})
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

// model1x serves GET /v1/models/{id}: a variant id only, as the service's
// GetModelVariant.
func (f *Foundry) model1x(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := f.lookup(id)
	if !ok {
		foundryError1x(w, http.StatusNotFound, fmt.Sprintf("Model not found: No model matching '%s'", id))
		return
	}
	b, _ := json.Marshal(foundryModelEntry1x(e))
	foundryJSON(w, http.StatusOK, append(b, '\n'))
}

// chat1x serves POST /v1/chat/completions with the 1.x semantics: the
// model is a variant id (an alias is 404), 400 "Model not loaded" for a
// known one that is not loaded (never an implicit load), then the
// simulator (usage with include_usage; a successful stream ends with
// [DONE]), with FailStreamAfter applied to streams (an error frame, then
// the end of the body without [DONE]).
func (f *Foundry) chat1x(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, sim.MaxBodyBytes+1))
	if err != nil {
		foundryError1x(w, http.StatusBadRequest, "Invalid request: reading the request body: "+err.Error())
		return
	}
	var top map[string]json.RawMessage
	var model, name string
	if json.Unmarshal(body, &top) == nil && json.Unmarshal(top["model"], &model) == nil && model != "" {
		e, ok := f.lookup(model)
		if !ok {
			foundryError1x(w, http.StatusNotFound, fmt.Sprintf("Model not found: No model matching '%s'", model))
			return
		}
		f.mu.Lock()
		_, loaded := f.loaded[e.Name]
		if !loaded {
			f.stats.NotLoaded++
		}
		f.mu.Unlock()
		if !loaded {
			foundryError1x(w, http.StatusBadRequest, fmt.Sprintf("Model not loaded: Model '%s' must be loaded before inference", model))
			return
		}
		name = e.Name
		top["model"], _ = json.Marshal(e.Name) // the simulator serves the canonical name
		if b, err := json.Marshal(top); err == nil {
			body = b
		}
	}
	f.mu.Lock()
	f.stats.Chats++
	f.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	if f.opts.FailStreamAfter <= 0 {
		f.sim.ServeHTTP(w, r)
		return
	}
	msg := f.opts.FailStreamMessage
	if msg == "" {
		msg = fmt.Sprintf("Generation failed for %s: simulated onnxruntime-genai error (flperf simulated engine fault injection)", name)
	}
	fs := &foundryFailStream{w: w, f: f, after: f.opts.FailStreamAfter, msg: msg}
	f.sim.ServeHTTP(fs, r)
	if !fs.failed && len(fs.buf) > 0 {
		w.Write(fs.buf) // an incomplete last frame, as the simulator wrote it
	}
}

// errFoundryStreamFailed stops the simulator once the error frame is out.
var errFoundryStreamFailed = errors.New("dialect: foundry: stream ended by an injected generation error")

// foundryFailStream passes a stream's first frames, then sends the 1.x
// generation error frame and refuses every later write, so that the body
// ends there without [DONE]. Non-stream answers pass unchanged.
type foundryFailStream struct {
	w      http.ResponseWriter
	f      *Foundry
	after  int
	msg    string
	sse    bool
	buf    []byte
	frames int
	failed bool
}

// Header returns the underlying header map.
func (s *foundryFailStream) Header() http.Header { return s.w.Header() }

// WriteHeader decides whether the answer is a stream.
func (s *foundryFailStream) WriteHeader(code int) {
	s.sse = code == http.StatusOK && strings.HasPrefix(s.w.Header().Get("Content-Type"), "text/event-stream")
	s.w.WriteHeader(code)
}

// Write passes whole frames until the limit, then fails.
func (s *foundryFailStream) Write(p []byte) (int, error) {
	if !s.sse {
		return s.w.Write(p)
	}
	if s.failed {
		return 0, errFoundryStreamFailed
	}
	s.buf = append(s.buf, p...)
	for {
		i := bytes.Index(s.buf, []byte("\n\n"))
		if i < 0 {
			break
		}
		if _, err := s.w.Write(s.buf[:i+2]); err != nil {
			return 0, err
		}
		s.buf = s.buf[:copy(s.buf, s.buf[i+2:])]
		s.frames++
		if s.frames >= s.after {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": s.msg, "type": "server_error", "param": nil, "code": nil}})
			s.w.Write(append(append([]byte("data: "), b...), "\n\n"...))
			http.NewResponseController(s.w).Flush()
			s.failed = true
			s.f.mu.Lock()
			s.f.stats.StreamErrors++
			s.f.mu.Unlock()
			return 0, errFoundryStreamFailed
		}
	}
	return len(p), nil
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *foundryFailStream) FlushError() error {
	if s.failed {
		return errFoundryStreamFailed
	}
	return http.NewResponseController(s.w).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (s *foundryFailStream) Unwrap() http.ResponseWriter { return s.w }
