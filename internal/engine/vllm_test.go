package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// batchProfile is a quick, jitter-free vLLM/SGLang model.
func batchProfile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: 20 * time.Millisecond, PrefillTPS: 5000, DecodeTPS: 1000, TokensPerChunk: 2, Slots: 4, Seed: 11}
}

func newBatchFake(t *testing.T, sglang bool, setup func(*dialect.VLLM)) (*VLLMManager, string) {
	t.Helper()
	newFake, kind := dialect.NewVLLM, VLLM
	if sglang {
		newFake, kind = dialect.NewSGLang, SGLang
	}
	f, err := newFake(batchProfile("qwen2.5-1.5b"))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(f)
	}
	url := serveFake(t, f)
	return NewVLLM(Info{Kind: kind, Endpoint: url + "/v1", Simulated: true}, nil), url
}

func TestVLLMModelsAndHealth(t *testing.T) {
	ctx := context.Background()
	m, _ := newBatchFake(t, false, func(f *dialect.VLLM) { f.MaxModelLen, f.Root = 32768, "Qwen/Qwen2.5-1.5B-Instruct" })
	if err := m.Health(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := m.Models(ctx, LoadedSet)
	if err != nil || len(ms) != 1 {
		t.Fatalf("models %v %v", ms, err)
	}
	if got := ms[0]; got.ID != "qwen2.5-1.5b" || got.ContextLength != 32768 || got.Alias != "Qwen/Qwen2.5-1.5B-Instruct" || !*got.Loaded {
		t.Errorf("model %+v", got)
	}
	if _, err := m.Models(ctx, DownloadedSet); !errors.Is(err, ErrUnsupported) {
		t.Errorf("downloaded: %v", err)
	}
	if c := m.Capabilities(); !c.Loaded || !c.Metrics || c.Load || c.ServerTimings {
		t.Errorf("capabilities %+v", c)
	}

	// SGLang: the model path comes from /get_model_info.
	s, _ := newBatchFake(t, true, func(f *dialect.VLLM) { f.Root = "/data/models/Qwen2.5-1.5B-Instruct" })
	ms, err = s.Models(ctx, LoadedSet)
	if err != nil || len(ms) != 1 || ms[0].Alias != "/data/models/Qwen2.5-1.5B-Instruct" || ms[0].ContextLength != 8192 {
		t.Fatalf("sglang models %+v %v", ms, err)
	}
	// Without a distinct root, no alias.
	plain, _ := newBatchFake(t, false, nil)
	if ms, err := plain.Models(ctx, LoadedSet); err != nil || ms[0].Alias != "" {
		t.Errorf("plain models %+v %v", ms, err)
	}
}

func TestSGLangMetricsDisabled(t *testing.T) {
	s, _ := newBatchFake(t, true, func(f *dialect.VLLM) { f.NoMetrics = true })
	_, err := s.Metrics(context.Background())
	if !errors.Is(err, ErrMetricsDisabled) || !strings.Contains(err.Error(), "--enable-metrics") {
		t.Fatalf("err = %v", err)
	}
}

func TestBatchServerMetricsEndToEnd(t *testing.T) {
	for _, sglang := range []bool{false, true} {
		name := "vllm"
		if sglang {
			name = "sglang"
		}
		t.Run(name, func(t *testing.T) {
			m, url := newBatchFake(t, sglang, nil)
			before, err := m.Metrics(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			recs := runClient(t, url+"/v1", "qwen2.5-1.5b", 5, true)
			prompt, completion, clientTTFT := recordTotals(recs)
			st := diffUntil(t, m, before, func(st ServerStats) bool {
				return st.RequestsFinished != nil && *st.RequestsFinished >= 5 && st.GenerationTokens != nil && *st.GenerationTokens >= float64(completion)
			})
			if val(st.RequestsFinished) != 5.0 {
				t.Errorf("requests finished %v, want 5 (notes %q)", val(st.RequestsFinished), st.Notes)
			}
			if val(st.GenerationTokens) != float64(completion) || val(st.PromptTokens) != float64(prompt) {
				t.Errorf("server generated %v, prompt %v; clients' usage says %d, %d", val(st.GenerationTokens), val(st.PromptTokens), completion, prompt)
			}
			// The server's TTFT runs from arrival to the first chunk's flush:
			// never below the profile's 20 ms, and not (much) later than the
			// client saw it.
			if st.MeanTTFT == nil || *st.MeanTTFT < 0.020-1e-4 || *st.MeanTTFT > clientTTFT+0.05 {
				t.Errorf("server mean TTFT %v s, client %.4f s", val(st.MeanTTFT), clientTTFT)
			}
			if st.MeanE2E == nil || st.MeanTTFT == nil || *st.MeanE2E < *st.MeanTTFT {
				t.Errorf("mean e2e %v < mean TTFT %v", val(st.MeanE2E), val(st.MeanTTFT))
			}
			if st.MeanTPOT == nil || *st.MeanTPOT <= 0 || *st.MeanTPOT > 0.05 {
				t.Errorf("mean TPOT %v s, profile 1 ms per token", val(st.MeanTPOT))
			}
			if st.MeanQueue == nil || *st.MeanQueue < 0 || *st.MeanQueue > st.IntervalSeconds {
				t.Errorf("mean queue %v", val(st.MeanQueue))
			}
			if val(st.Running.Last) != 0.0 || val(st.Waiting.Last) != 0.0 || st.KVCacheUsage.Last == nil {
				t.Errorf("gauges %v %v %v", val(st.Running.Last), val(st.Waiting.Last), val(st.KVCacheUsage.Last))
			}
			wantSource := "vllm:request_time_per_output_token_seconds"
			if sglang {
				wantSource = "sglang:inter_token_latency_seconds"
			}
			if st.Sources["mean_tpot_s"] != wantSource {
				t.Errorf("TPOT from %q, want %q", st.Sources["mean_tpot_s"], wantSource)
			}
			if sglang && len(st.Notes) != 0 {
				t.Errorf("notes %q", st.Notes)
			}
		})
	}
}
