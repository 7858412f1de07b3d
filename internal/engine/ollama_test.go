package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// ollamaRecorder serves a handler and keeps the path and body of every
// request it got.
type ollamaRecorder struct {
	h      http.Handler
	mu     sync.Mutex
	bodies []string // "PATH BODY"
}

func (rec *ollamaRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.bodies = append(rec.bodies, r.URL.Path+" "+string(body))
	rec.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.h.ServeHTTP(w, r)
}

// last returns the body of the latest request to path.
func (rec *ollamaRecorder) last(t *testing.T, path string) map[string]any {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := len(rec.bodies) - 1; i >= 0; i-- {
		if p, body, _ := strings.Cut(rec.bodies[i], " "); p == path {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			return m
		}
	}
	t.Fatalf("no request to %s", path)
	return nil
}

// ollamaFake starts the fake Ollama of package dialect on 127.0.0.1 with
// the named models and returns it, its request recorder and a manager for it.
func ollamaFake(t *testing.T, names ...string) (*dialect.Ollama, *ollamaRecorder, *OllamaManager) {
	t.Helper()
	var ps []sim.Profile
	for i, n := range names {
		ps = append(ps, sim.Profile{Name: n, TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Seed: int64(i)})
	}
	o, err := dialect.NewOllama(ps...)
	if err != nil {
		t.Fatal(err)
	}
	rec := &ollamaRecorder{h: o}
	s := httptest.NewServer(rec)
	t.Cleanup(s.Close)
	info := Info{Kind: Ollama, Endpoint: s.URL + "/v1"}
	return o, rec, NewOllama(info, s.Client())
}

// ollamaList lists one set of models, indexed by ID.
func ollamaList(t *testing.T, mgr *OllamaManager, set ModelSet) map[string]Model {
	t.Helper()
	ms, err := mgr.Models(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Model{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

func TestOllamaModels(t *testing.T) {
	o, _, mgr := ollamaFake(t, "gpu:1b", "split:7b", "cpu:3b", "idle:1b")
	o.SetModel("split:7b", dialect.OllamaModel{Family: "qwen2", ParameterSize: "7.6B", Quantization: "Q8_0", Size: 1000, VRAM: 400, ContextLength: 8192, NumCtx: 8192})
	o.SetModel("cpu:3b", dialect.OllamaModel{Size: 3000, VRAM: 0})
	ctx := t.Context()
	if c := mgr.Capabilities(); c.Catalog || c.Metrics || !c.Downloaded || !c.Loaded || !c.Download || !c.Load || !c.Unload || !c.ServerTimings {
		t.Errorf("capabilities %+v", c)
	}
	if _, err := mgr.Models(ctx, CatalogSet); !errors.Is(err, ErrUnsupported) {
		t.Errorf("catalog: %v, want ErrUnsupported", err)
	}

	down := ollamaList(t, mgr, DownloadedSet)
	if len(down) != 4 {
		t.Fatalf("downloaded %v", down)
	}
	s := down["split:7b"]
	if s.Alias != "split" || s.Family != "qwen2" || s.Parameters != "7.6B" || s.Quantization != "Q8_0" || s.SizeBytes != 1000 ||
		s.Downloaded == nil || !*s.Downloaded || s.Loaded != nil {
		t.Errorf("downloaded split:7b = %+v", s)
	}
	if g := down["gpu:1b"]; g.Family != "llama" || g.Quantization != "Q4_K_M" || g.SizeBytes == 0 {
		t.Errorf("downloaded gpu:1b = %+v", g)
	}

	if got := ollamaList(t, mgr, LoadedSet); len(got) != 0 {
		t.Fatalf("loaded before any load: %v", got)
	}
	start := time.Now()
	for id, ttl := range map[string]time.Duration{"gpu:1b": 10 * time.Minute, "split:7b": -1, "cpu:3b": 0} {
		if _, err := mgr.Load(ctx, id, LoadOptions{TTL: ttl}); err != nil {
			t.Fatal(err)
		}
	}
	loaded := ollamaList(t, mgr, LoadedSet)
	if len(loaded) != 3 {
		t.Fatalf("loaded %v", loaded)
	}
	g, sp, c := loaded["gpu:1b"], loaded["split:7b"], loaded["cpu:3b"]
	if g.Device != "GPU" || g.VRAMBytes != down["gpu:1b"].SizeBytes || g.Loaded == nil || !*g.Loaded || g.ContextLength != dialect.DefaultOllamaNumCtx { // /api/ps: the loaded num_ctx
		t.Errorf("gpu:1b = %+v", g)
	}
	if sp.Device != "CPU+GPU" || sp.VRAMBytes != 400 || sp.ContextLength != 8192 || sp.Family != "qwen2" {
		t.Errorf("split:7b = %+v", sp)
	}
	if c.Device != "CPU" || c.VRAMBytes != 0 {
		t.Errorf("cpu:3b = %+v", c)
	}
	if g.ExpiresAt == nil || g.ExpiresAt.Before(start.Add(10*time.Minute)) || g.ExpiresAt.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("gpu:1b expires at %v, want now + 10m", g.ExpiresAt)
	}
	if c.ExpiresAt == nil || c.ExpiresAt.Before(start.Add(5*time.Minute)) || c.ExpiresAt.After(time.Now().Add(5*time.Minute)) {
		t.Errorf("cpu:3b (server default keep-alive) expires at %v, want now + 5m", c.ExpiresAt)
	}
	if sp.ExpiresAt == nil || sp.ExpiresAt.Year() < time.Now().Year()+100 {
		t.Errorf("split:7b (keep-alive forever) expires at %v", sp.ExpiresAt)
	}
}

func TestOllamaShow(t *testing.T) {
	o, _, mgr := ollamaFake(t, "qwen3:8b")
	o.SetModel("qwen3:8b", dialect.OllamaModel{Family: "qwen3", ParameterSize: "8.2B", Quantization: "Q4_K_M", ContextLength: 40960})
	m, err := mgr.Show(t.Context(), "qwen3:8b")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "qwen3:8b" || m.Alias != "qwen3" || m.Family != "qwen3" || m.Parameters != "8.2B" || m.Quantization != "Q4_K_M" || m.ContextLength != 40960 {
		t.Errorf("Show = %+v", m)
	}
	_, err = mgr.Show(t.Context(), "missing:1b")
	oe, ok := errors.AsType[*OllamaError](err)
	if !ok || !oe.NotFound() || !strings.Contains(err.Error(), `"missing:1b" not found`) || !strings.Contains(err.Error(), "model 'missing:1b' not found") {
		t.Errorf("unknown model: %v", err)
	}
	v, err := mgr.Version(t.Context())
	if err != nil || v != dialect.OllamaVersion {
		t.Errorf("Version = %q, %v", v, err)
	}
}

func TestOllamaLoadUnload(t *testing.T) {
	o, rec, mgr := ollamaFake(t, "a:1b")
	o.LoadTime = 50 * time.Millisecond
	ctx := t.Context()
	took, err := mgr.Load(ctx, "a:1b", LoadOptions{TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took < o.LoadTime {
		t.Errorf("Load took %v, the fake takes %v", took, o.LoadTime)
	}
	if b := rec.last(t, "/api/generate"); len(b) != 2 || b["model"] != "a:1b" || b["keep_alive"] != 90.0 {
		t.Errorf("load body %v", b)
	}
	if l := ollamaList(t, mgr, LoadedSet); len(l) != 1 {
		t.Errorf("loaded after Load: %v", l)
	}
	if _, err := mgr.Load(ctx, "a:1b", LoadOptions{TTL: -time.Second}); err != nil {
		t.Fatal(err)
	}
	if b := rec.last(t, "/api/generate"); b["keep_alive"] != -1.0 {
		t.Errorf("forever: body %v", b)
	}
	if _, err := mgr.Load(ctx, "a:1b", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := rec.last(t, "/api/generate"); len(b) != 1 {
		t.Errorf("default TTL: body %v, want the model only", b)
	}

	if err := mgr.Unload(ctx, "a:1b"); err != nil {
		t.Fatal(err)
	}
	if b := rec.last(t, "/api/generate"); len(b) != 2 || b["model"] != "a:1b" || b["keep_alive"] != 0.0 {
		t.Errorf("unload body %v", b)
	}
	if l := ollamaList(t, mgr, LoadedSet); len(l) != 0 {
		t.Errorf("loaded after Unload: %v", l)
	}

	if _, err := mgr.Load(ctx, "a:1b", LoadOptions{ExecutionProvider: "cuda"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("execution provider: %v", err)
	}
	for _, err := range []error{
		func() error { _, err := mgr.Load(ctx, "nope:1b", LoadOptions{}); return err }(),
		mgr.Unload(ctx, "nope:1b"),
	} {
		if oe, ok := errors.AsType[*OllamaError](err); !ok || !oe.NotFound() || !strings.Contains(err.Error(), `"nope:1b"`) {
			t.Errorf("unknown model: %v", err)
		}
	}
}

func TestOllamaLoadPrefersLoadDuration(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"model":"m","done":true,"done_reason":"load","load_duration":1234567890}`)
	}))
	t.Cleanup(s.Close)
	took, err := NewOllama(Info{Endpoint: s.URL + "/v1"}, nil).Load(t.Context(), "m", LoadOptions{})
	if err != nil || took != 1234567890 {
		t.Errorf("Load = %v, %v; want the engine's load_duration", took, err)
	}
}

// ollamaProgress collects progress reports.
type ollamaProgress struct{ got []Progress }

func (p *ollamaProgress) add(r Progress) { p.got = append(p.got, r) }

func TestOllamaDownload(t *testing.T) {
	o, rec, mgr := ollamaFake(t, "a:1b")
	o.SetPulled("a:1b", false)
	o.PullSteps = 5
	var p ollamaProgress
	if err := mgr.Download(t.Context(), "a:1b", p.add); err != nil {
		t.Fatal(err)
	}
	if b := rec.last(t, "/api/pull"); b["model"] != "a:1b" || b["stream"] != true {
		t.Errorf("pull body %v", b)
	}
	last := p.got[len(p.got)-1]
	if !last.Done || last.Percent != 100 || last.Status != "success" || last.Err != "" {
		t.Fatalf("last report %+v", last)
	}
	prev, between := -1.0, 0
	for _, r := range p.got[:len(p.got)-1] {
		if r.Done || r.Percent < prev || r.Percent >= 100 || r.Status == "" {
			t.Fatalf("report %+v after %v%% (reports %+v)", r, prev, p.got)
		}
		if r.Percent > 0 && r.Percent < 99 {
			between++
		}
		prev = r.Percent
	}
	if p.got[0].Percent >= 0 || p.got[0].Status != "pulling manifest" || between < 3 || prev < 99 {
		t.Errorf("reports %+v", p.got)
	}
	if d := ollamaList(t, mgr, DownloadedSet); len(d) != 1 {
		t.Errorf("not downloaded after Download: %v", d)
	}
}

func TestOllamaDownloadFailure(t *testing.T) {
	o, _, mgr := ollamaFake(t, "a:1b")
	o.SetPulled("a:1b", false)
	o.PullFailure = "max retries exceeded: unexpected EOF"
	var p ollamaProgress
	err := mgr.Download(t.Context(), "a:1b", p.add)
	if err == nil || !strings.Contains(err.Error(), o.PullFailure) || !strings.Contains(err.Error(), `"a:1b"`) {
		t.Fatalf("Download = %v", err)
	}
	last := p.got[len(p.got)-1]
	if !last.Done || last.Err != err.Error() || last.Percent <= 0 || last.Percent >= 100 {
		t.Errorf("last report %+v, want Done with the error half-way", last)
	}
	if err := mgr.Download(t.Context(), "nope:1b", nil); err == nil || !strings.Contains(err.Error(), "file does not exist") {
		t.Errorf("unknown model: %v", err)
	}
}

func TestOllamaDownloadHostile(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"malformed line", `{"status":"pulling manifest"}` + "\n" + `{"status":` + "\n", 200, "malformed progress line"},
		{"no success", `{"status":"pulling manifest"}` + "\n" + `{"status":"pulling abc","digest":"sha256:abc","total":10,"completed":5}`, 200, "without \"success\""},
		{"http error", `{"error":"insufficient disk space"}`, 500, "insufficient disk space"},
		{"error object", `{"error":{"message":"denied"}}` + "\n", 200, "denied"},
		{"completed past total", `{"digest":"d","total":10,"completed":99}` + "\n" + `{"status":"success"}` + "\n", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			t.Cleanup(s.Close)
			var p ollamaProgress
			err := NewOllama(Info{Endpoint: s.URL + "/v1"}, nil).Download(t.Context(), "m", p.add)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.got {
					if r.Percent > 100 {
						t.Errorf("percent %v", r.Percent)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
			if len(p.got) == 0 || !p.got[len(p.got)-1].Done {
				t.Errorf("no final report: %+v", p.got)
			}
		})
	}
}

func TestOllamaIdentifyFake(t *testing.T) {
	_, _, mgr := ollamaFake(t, "a:1b")
	var p Prober
	info, err := p.Identify(t.Context(), mgr.Info().Endpoint)
	if err != nil || info.Kind != Ollama || info.Version != dialect.OllamaVersion {
		t.Errorf("Identify = %+v, %v", info, err)
	}
	// The fake marks every answer as simulated: it must never pass for a
	// real Ollama.
	if !info.Simulated || !strings.Contains(info.Label(), "SIMULATED") {
		t.Errorf("the simulated Ollama is not labelled simulated: %+v", info)
	}
	if SimulatedHeader != sim.EngineHeader {
		t.Errorf("engine.SimulatedHeader %q != sim.EngineHeader %q", SimulatedHeader, sim.EngineHeader)
	}
}

func TestOllamaUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	mgr := NewOllama(Info{Endpoint: "http://" + addr + "/v1"}, nil)
	if _, err := mgr.Models(t.Context(), DownloadedSet); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Models: %v", err)
	}
	if err := mgr.Download(t.Context(), "m", nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Download: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := mgr.Load(ctx, "m", LoadOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a canceled context: %v", err)
	}
}
