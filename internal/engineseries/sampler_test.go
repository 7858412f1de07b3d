package engineseries

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// slots is the simulated engine's generation slots in these tests; the
// load keeps twice as many requests in flight.
const slots = 2

func queueProfile() sim.Profile {
	return sim.Profile{Name: "q", TTFT: 5 * time.Millisecond, DecodeTPS: 400, TokensPerChunk: 4, Slots: slots, Seed: 3}
}

// queueLogger is a fake engine that keeps its queue's history.
type queueLogger interface {
	http.Handler
	RecordQueue()
	QueueLog() []dialect.QueueChange
}

// closedLoop keeps n requests of 40 tokens in flight against url, each
// client sending its next as soon as its last is answered, `rounds` times.
func closedLoop(t *testing.T, url string, n, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range rounds {
				body := `{"model":"q","messages":[{"role":"user","content":"hi"}],"max_tokens":40,"stream":false}`
				resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("chat: HTTP %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
}

// held lists the values field had in the simulator's log at some instant
// of [from, to]: the one in effect at from and every one set within.
func held(log []dialect.QueueChange, from, to time.Time, field func(dialect.QueueChange) int) map[float64]bool {
	out := map[float64]bool{}
	at := -1
	for i, c := range log {
		if !c.At.After(from) {
			at = i
		}
	}
	if at >= 0 {
		out[float64(field(log[at]))] = true
	}
	for _, c := range log {
		if c.At.After(from) && !c.At.After(to) {
			out[float64(field(c))] = true
		}
	}
	return out
}

// compareQueue checks each sample's running and waiting against what the
// simulator's queue held while that sample's read was in flight (the
// scrape read the queue at one instant of it), and returns how many
// samples saw every slot busy with as many requests waiting.
func compareQueue(t *testing.T, s *Series, log []dialect.QueueChange, wantWaiting bool) (full int) {
	t.Helper()
	running := func(c dialect.QueueChange) int { return c.Running }
	waiting := func(c dialect.QueueChange) int { return c.Waiting }
	for i, smp := range s.Samples {
		// TMS and TookMS are rounded to the µs.
		from := s.Start.Add(time.Duration(smp.TMS*1e6) * time.Nanosecond).Add(-time.Microsecond)
		to := s.Start.Add(time.Duration((smp.TMS+smp.TookMS)*1e6) * time.Nanosecond).Add(2 * time.Microsecond)
		if smp.Running == nil {
			t.Fatalf("sample %d: no running figure (%+v)", i, smp)
		}
		if h := held(log, from, to, running); !h[*smp.Running] {
			t.Errorf("sample %d at %.3f ms: running %v, the simulator had %v during the read", i, smp.TMS, *smp.Running, h)
		}
		if !wantWaiting {
			if smp.Waiting != nil {
				t.Errorf("sample %d: waiting %v from an engine that does not give it", i, *smp.Waiting)
			}
			if *smp.Running == slots {
				full++
			}
			continue
		}
		if smp.Waiting == nil {
			t.Fatalf("sample %d: no waiting figure", i)
		}
		if h := held(log, from, to, waiting); !h[*smp.Waiting] {
			t.Errorf("sample %d at %.3f ms: waiting %v, the simulator had %v during the read", i, smp.TMS, *smp.Waiting, h)
		}
		if *smp.Running == slots && *smp.Waiting == slots {
			full++
		}
	}
	return full
}

// sampleDuring samples the engine at url (kind) every 10 ms while the load
// of 2×slots closed-loop clients runs, and returns the series and the
// simulator's queue history.
func sampleDuring(t *testing.T, fake queueLogger, kind engine.Kind) (*Series, []dialect.QueueChange) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	r := ReaderFor(engine.Info{Kind: kind, Endpoint: srv.URL + "/v1"}, nil)
	if r == nil {
		t.Fatalf("%s: no reader", kind)
	}
	fake.RecordQueue()
	s, err := Start(context.Background(), Options{Interval: 10 * time.Millisecond, Engine: string(kind), Reader: r})
	if err != nil {
		t.Fatal(err)
	}
	closedLoop(t, srv.URL, 2*slots, 3)
	series := s.Stop()
	return series, fake.QueueLog()
}

// TestVLLMQueueSeen checks that the requests running and waiting sampled
// from the simulated vLLM's /metrics are what its queue held at the
// sample's instant, that under 2×slots requests in flight samples see
// every slot busy and as many waiting, and that the KV cache share is
// running/slots as the simulator serves it.
func TestVLLMQueueSeen(t *testing.T) {
	for _, sglang := range []bool{false, true} {
		newFake, kind := dialect.NewVLLM, engine.VLLM
		if sglang {
			newFake, kind = dialect.NewSGLang, engine.SGLang
		}
		v, err := newFake(queueProfile())
		if err != nil {
			t.Fatal(err)
		}
		series, log := sampleDuring(t, v, kind)
		if len(series.Samples) < 3 {
			t.Fatalf("%s: %d samples", kind, len(series.Samples))
		}
		if full := compareQueue(t, series, log, true); full == 0 {
			t.Errorf("%s: no sample saw %d running and %d waiting under %d requests in flight", kind, slots, slots, 2*slots)
		}
		for i, smp := range series.Samples {
			if smp.KVCacheUsage == nil || *smp.KVCacheUsage != *smp.Running/slots {
				t.Errorf("%s sample %d: KV cache %v, running %v of %d slots", kind, i, smp.KVCacheUsage, *smp.Running, slots)
			}
			if smp.SlotsBusy != nil || smp.LoadedModels != nil || smp.VRAMBytes != nil {
				t.Errorf("%s sample %d: figures this engine has no route for: %+v", kind, i, smp)
			}
		}
		last := series.Samples[len(series.Samples)-1]
		if *last.Running != 0 || *last.Waiting != 0 {
			t.Errorf("%s: the sample taken at Stop, after the load, has running %v waiting %v", kind, *last.Running, *last.Waiting)
		}
		want := map[string]string{"running": "vllm:num_requests_running", "waiting": "vllm:num_requests_waiting", "kv_cache_usage": "vllm:kv_cache_usage_perc"}
		if sglang {
			want = map[string]string{"running": "sglang:num_running_reqs", "waiting": "sglang:num_queue_reqs", "kv_cache_usage": "sglang:token_usage"}
		}
		if fmt.Sprint(series.Sources) != fmt.Sprint(want) || len(series.Notes) != 0 {
			t.Errorf("%s: sources %v notes %q", kind, series.Sources, series.Notes)
		}
	}
}

// TestLlamaCppQueueSeen checks llama.cpp with /metrics (requests
// processing and deferred, busy slots from /slots, no KV figure: null and
// noted) and without it (running from the busy slots, waiting and KV
// null, never 0, and the reason noted).
func TestLlamaCppQueueSeen(t *testing.T) {
	for _, noMetrics := range []bool{false, true} {
		l, err := dialect.NewLlamaCpp(queueProfile(), dialect.LlamaCppOptions{NoMetrics: noMetrics})
		if err != nil {
			t.Fatal(err)
		}
		series, log := sampleDuring(t, l, engine.LlamaCpp)
		full := compareQueue(t, series, log, !noMetrics)
		if full == 0 {
			t.Errorf("no metrics %v: no sample saw every slot busy (and %d waiting) under %d requests in flight", noMetrics, slots, 2*slots)
		}
		for i, smp := range series.Samples {
			if smp.KVCacheUsage != nil {
				t.Errorf("no metrics %v, sample %d: KV cache %v from an engine that gives none", noMetrics, i, *smp.KVCacheUsage)
			}
			if smp.SlotsTotal == nil || *smp.SlotsTotal != slots || smp.SlotsBusy == nil {
				t.Fatalf("no metrics %v, sample %d: slots %v of %v", noMetrics, i, smp.SlotsBusy, smp.SlotsTotal)
			}
			if !noMetrics {
				continue
			}
			if *smp.SlotsBusy != *smp.Running {
				t.Errorf("sample %d: running %v, busy slots %v", i, *smp.Running, *smp.SlotsBusy)
			}
		}
		notes := strings.Join(series.Notes, "\n")
		if noMetrics {
			if !strings.Contains(notes, "/metrics is turned off") || series.Sources["running"] != "/slots is_processing" || series.Sources["waiting"] != "" {
				t.Errorf("without --metrics: notes %q sources %v", notes, series.Sources)
			}
		} else if !strings.Contains(notes, "no kv_cache_usage gauge") || series.Sources["waiting"] != "llamacpp:requests_deferred" {
			t.Errorf("with --metrics: notes %q sources %v", notes, series.Sources)
		}
	}
}

// TestOllamaLoadedSeen checks Ollama's /api/ps: no model loaded (real
// zeros) until a request loads one, then one model and its VRAM; Ollama
// has no queue figure (null, never 0).
func TestOllamaLoadedSeen(t *testing.T) {
	o, err := dialect.NewOllama(queueProfile())
	if err != nil {
		t.Fatal(err)
	}
	const size, vram = 2 << 30, 1536 << 20
	if err := o.SetModel("q", dialect.OllamaModel{Size: size, VRAM: vram}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	defer srv.Close()
	s, err := Start(context.Background(), Options{Interval: 10 * time.Millisecond, Engine: "ollama", Reader: ReaderFor(engine.Info{Kind: engine.Ollama, Endpoint: srv.URL + "/v1"}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/api/generate", "application/json", strings.NewReader(`{"model":"q","keep_alive":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	series := s.Stop()
	n := len(series.Samples)
	if n < 2 {
		t.Fatalf("%d samples", n)
	}
	loaded := false
	for i, smp := range series.Samples {
		if smp.Running != nil || smp.Waiting != nil || smp.KVCacheUsage != nil || smp.SlotsBusy != nil {
			t.Errorf("sample %d: a queue figure from Ollama, which has none: %+v", i, smp)
		}
		if smp.LoadedModels == nil || smp.VRAMBytes == nil {
			t.Fatalf("sample %d: no /api/ps figures", i)
		}
		switch {
		case *smp.LoadedModels == 0 && *smp.VRAMBytes == 0 && !loaded:
		case *smp.LoadedModels == 1 && *smp.VRAMBytes == vram:
			loaded = true
		default:
			t.Errorf("sample %d: %v models, %v bytes of VRAM (loaded before: %v)", i, *smp.LoadedModels, *smp.VRAMBytes, loaded)
		}
	}
	if *series.Samples[0].LoadedModels != 0 || *series.Samples[n-1].LoadedModels != 1 {
		t.Errorf("first sample (before the load) %v models, last (after) %v", *series.Samples[0].LoadedModels, *series.Samples[n-1].LoadedModels)
	}
}

// TestFailingScrape checks that a read that fails leaves that sample's
// figures null (never 0), marks the route, and is noted once with the
// count; the reads around it keep their figures.
func TestFailingScrape(t *testing.T) {
	v, err := dialect.NewVLLM(queueProfile())
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && calls.Add(1)%2 == 0 {
			http.Error(w, "scrape refused", http.StatusInternalServerError)
			return
		}
		v.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s, err := Start(context.Background(), Options{Interval: 10 * time.Millisecond, Engine: "vllm", Reader: ReaderFor(engine.Info{Kind: engine.VLLM, Endpoint: srv.URL + "/v1"}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	closedLoop(t, srv.URL, 1, 3)
	series := s.Stop()
	failed := 0
	for i, smp := range series.Samples {
		if len(smp.Failed) > 0 {
			failed++
			if fmt.Sprint(smp.Failed) != "[/metrics]" || smp.Running != nil || smp.Waiting != nil || smp.KVCacheUsage != nil {
				t.Errorf("failed sample %d: %+v", i, smp)
			}
		} else if smp.Running == nil || smp.Waiting == nil || smp.KVCacheUsage == nil {
			t.Errorf("good sample %d lacks a figure: %+v", i, smp)
		}
	}
	if failed == 0 || failed != len(series.Samples)/2 {
		t.Errorf("%d of %d samples failed, want every second one", failed, len(series.Samples))
	}
	want := fmt.Sprintf("reading /metrics failed %d times", failed)
	if failed == 1 {
		want = "reading /metrics failed once"
	}
	if len(series.Notes) != 1 || !strings.Contains(series.Notes[0], want) || !strings.Contains(series.Notes[0], "scrape refused") {
		t.Errorf("notes %q, want one saying %q", series.Notes, want)
	}
}

// TestSummaries checks the per-stage means and peaks: over the samples sent
// within the stage, a figure no sample had null (never 0), real zeros
// counted.
func TestSummaries(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	s := &Series{Stages: []Stage{{Model: "m", Scenario: "a", FromMS: 0, ToMS: 100}, {Model: "m", Scenario: "b", FromMS: 100.5, ToMS: 300}}, Samples: []Sample{
		{TMS: 0, Running: f(0), Waiting: f(0)},
		{TMS: 50, Running: f(2), Waiting: f(3)},
		{TMS: 100, Running: f(1)},
		{TMS: 150, Running: f(2), Waiting: f(4), KVCacheUsage: f(0.5)},
		{TMS: 400, Running: f(9)},
	}}
	sums := s.Summaries()
	a, b := sums[0], sums[1]
	if a.Samples != 3 || *a.Figures["running"].Mean != 1 || *a.Figures["running"].Peak != 2 || *a.Figures["waiting"].Mean != 1.5 ||
		a.Figures["waiting"].N != 2 || a.Figures["kv_cache_usage"].Mean != nil || a.Figures["kv_cache_usage"].Peak != nil {
		t.Errorf("stage a: %+v", a)
	}
	if b.Samples != 1 || *b.Figures["running"].Peak != 2 || *b.Figures["kv_cache_usage"].Mean != 0.5 {
		t.Errorf("stage b: %+v", b)
	}
	var buf bytes.Buffer
	fmt.Fprint(&buf, a.Figures["vram_bytes"].Mean)
	if buf.String() != "<nil>" {
		t.Errorf("a figure no sample had: %s", buf.String())
	}
}
