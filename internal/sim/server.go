package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Version is the simulator's protocol version, reported by GET /flperf/sim.
const Version = "1"

// EngineHeader is the response header that marks every answer of the
// simulator; its value is "simulated".
const EngineHeader = "X-FLPerf-Engine"

// Server is the simulated engine, an http.Handler serving one or more
// Profiles. It is safe for concurrent use.
type Server struct {
	models  map[string]*model
	names   []string
	created int64 // Unix seconds, reported as the models' creation time

	trace atomic.Pointer[func(Event)]
	seq   atomic.Int64 // request ids, from 1

	requests, inFlight, maxInFlight atomic.Int64
	queued, active, maxActive       atomic.Int64

	modelsJSON []byte // GET /v1/models
	infoJSON   []byte // GET /flperf/sim
}

// model is one served profile with its queue and request counter.
type model struct {
	p        Profile
	nameJSON []byte        // the name as a JSON string, quotes included
	count    atomic.Uint64 // requests accepted so far: the next request's k
	slots    slots
	cache    *prefixCache // nil: Profile.PrefixCache is 0
}

// Stats are the server's request counters.
type Stats struct {
	Requests    int64 // chat completion requests received, valid or not
	InFlight    int64 // requests generating or queued for a slot now
	MaxInFlight int64 // peak of InFlight
	Queued      int64 // requests waiting for a slot now
	Active      int64 // requests holding a slot now
	MaxActive   int64 // peak of Active
}

// EventKind names a moment in the life of a request.
type EventKind uint8

// Event kinds, in the order they happen to a request.
const (
	Arrived EventKind = iota + 1 // request body read and accepted for a known model
	Slot                         // generation slot acquired: the origin of the schedule
	Headers                      // response headers flushed (non-stream: the whole body written)
	Chunk                        // a text chunk flushed; At is taken right after the flush
	End                          // the handler is done with the request, however it ended
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case Arrived:
		return "arrived"
	case Slot:
		return "slot"
	case Headers:
		return "headers"
	case Chunk:
		return "chunk"
	case End:
		return "end"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one traced moment of one request.
type Event struct {
	Req    int64     // request id, from 1, in order of arrival over the whole server
	Model  string    // model name
	Kind   EventKind // what happened
	At     time.Time // when (monotonic clock)
	Tokens int       // Chunk: tokens in the chunk; End: tokens delivered in total
	Due    time.Time // Chunk: when the schedule meant it to be flushed (its last token's due time)
	Cached int       // Slot: the prompt tokens the model's prefix cache served (Profile.PrefixCache)
}

// New returns a server for the given profiles, or an error naming every
// invalid profile field. Names must be unique.
func New(profiles ...Profile) (*Server, error) {
	if len(profiles) == 0 {
		return nil, errors.New("sim: no profiles")
	}
	s := &Server{models: make(map[string]*model, len(profiles)), created: time.Now().Unix()}
	var errs []error
	for _, p := range profiles {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.models[p.Name]; dup {
			errs = append(errs, fmt.Errorf("sim: profile %q: Name is used twice", p.Name))
			continue
		}
		name, _ := json.Marshal(p.Name)
		m := &model{p: p, nameJSON: name}
		m.slots = slots{limit: p.Slots, queued: &s.queued}
		m.cache = newPrefixCache(p.PrefixCache)
		s.models[p.Name] = m
		s.names = append(s.names, p.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.modelsJSON = s.buildModels()
	s.infoJSON = s.buildInfo(profiles)
	return s, nil
}

// Stats returns a snapshot of the request counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:    s.requests.Load(),
		InFlight:    s.inFlight.Load(),
		MaxInFlight: s.maxInFlight.Load(),
		Queued:      s.queued.Load(),
		Active:      s.active.Load(),
		MaxActive:   s.maxActive.Load(),
	}
}

// SetTrace installs fn, called synchronously for every Event (so it delays
// the request it traces: keep it short); nil removes it.
func (s *Server) SetTrace(fn func(Event)) {
	if fn == nil {
		s.trace.Store(nil)
		return
	}
	s.trace.Store(&fn)
}

func (s *Server) emit(e Event) {
	if fn := s.trace.Load(); fn != nil {
		(*fn)(e)
	}
}

// up adds one to c and raises peak to the new value if it is higher.
func up(c, peak *atomic.Int64) {
	v := c.Add(1)
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// ServeHTTP routes a request:
//
//	POST /v1/chat/completions   chat completion, streaming or not
//	GET  /v1/models             OpenAI model list (owned_by "flperf-simulator")
//	GET  /v1/models/{id}        one model
//	GET  /health                {"status":"ok"}
//	GET  /flperf/sim            {"simulated":true,"engine":"flperf-sim",...}
//
// Every response carries the header X-FLPerf-Engine: simulated.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(EngineHeader, "simulated")
	path := r.URL.Path
	switch {
	case path == "/v1/chat/completions":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.chat(w, r)
	case path == "/v1/models":
		s.get(w, r, s.modelsJSON)
	case strings.HasPrefix(path, "/v1/models/"):
		m := s.models[strings.TrimPrefix(path, "/v1/models/")]
		if m == nil {
			s.unknownModel(w, strings.TrimPrefix(path, "/v1/models/"))
			return
		}
		s.get(w, r, s.modelJSON(m.p.Name))
	case path == "/health":
		s.get(w, r, []byte(`{"status":"ok"}`+"\n"))
	case path == "/flperf/sim":
		s.get(w, r, s.infoJSON)
	default:
		writeError(w, apiError{status: http.StatusNotFound, typ: "invalid_request_error",
			msg: fmt.Sprintf("unknown route %s %s (flperf simulated engine)", r.Method, path)})
	}
}

// get answers a GET (or HEAD) with a fixed JSON body.
func (s *Server) get(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelJSON(name string) []byte {
	b, _ := json.Marshal(modelObject{ID: name, Object: "model", Created: s.created, OwnedBy: "flperf-simulator"})
	return append(b, '\n')
}

func (s *Server) buildModels() []byte {
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list"}
	for _, n := range s.names {
		list.Data = append(list.Data, modelObject{ID: n, Object: "model", Created: s.created, OwnedBy: "flperf-simulator"})
	}
	b, _ := json.Marshal(list)
	return append(b, '\n')
}

// profileInfo is a profile as GET /flperf/sim describes it.
type profileInfo struct {
	Name           string  `json:"name"`
	TTFTms         float64 `json:"ttft_ms"`
	PrefillTPS     float64 `json:"prefill_tps"`
	DecodeTPS      float64 `json:"decode_tps"`
	Jitter         float64 `json:"jitter"`
	TokensPerChunk int     `json:"tokens_per_chunk"`
	Slots          int     `json:"slots"`
	PrefixCache    int     `json:"prefix_cache,omitempty"`
	Reasoning      int     `json:"reasoning_tokens"`
	OutputTokens   int     `json:"output_tokens"`
	Seed           int64   `json:"seed"`
	Faults         bool    `json:"faults"`
}

func (s *Server) buildInfo(profiles []Profile) []byte {
	info := struct {
		Simulated bool          `json:"simulated"`
		Engine    string        `json:"engine"`
		Version   string        `json:"version"`
		Models    []string      `json:"models"`
		Profiles  []profileInfo `json:"profiles"`
	}{Simulated: true, Engine: "flperf-sim", Version: Version, Models: s.names}
	for _, p := range profiles {
		info.Profiles = append(info.Profiles, profileInfo{
			Name: p.Name, TTFTms: float64(p.TTFT) / 1e6, PrefillTPS: p.PrefillTPS, DecodeTPS: p.DecodeTPS,
			Jitter: p.Jitter, TokensPerChunk: p.chunkTokens(), Slots: p.Slots, PrefixCache: p.PrefixCache, Reasoning: p.Reasoning,
			OutputTokens: p.OutputTokens, Seed: p.Seed, Faults: p.Faults != (Faults{}),
		})
	}
	b, _ := json.Marshal(info)
	return append(b, '\n')
}

func (s *Server) unknownModel(w http.ResponseWriter, name string) {
	writeError(w, apiError{
		status: http.StatusNotFound, typ: "invalid_request_error", param: "model", code: "model_not_found",
		msg: fmt.Sprintf("The model %q does not exist on the flperf simulated engine. Available models: %s",
			name, strings.Join(s.names, ", ")),
	})
}
