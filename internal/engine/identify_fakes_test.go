package engine

import (
	"context"
	"net/http"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// Each simulated engine is identified as the engine it imitates, and, by
// the header on every answer, as simulated.
func TestIdentifyFakes(t *testing.T) {
	p := sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 1000}
	llama, err := dialect.NewLlamaCpp(p, dialect.LlamaCppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vllm, err := dialect.NewVLLM(p)
	if err != nil {
		t.Fatal(err)
	}
	sglang, err := dialect.NewSGLang(p)
	if err != nil {
		t.Fatal(err)
	}
	lms, err := dialect.NewLMStudio(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h       http.Handler
		kind    Kind
		version string
		mgr     func(Manager) bool // is it the kind's own manager?
	}{
		{llama, LlamaCpp, dialect.LlamaCppBuildInfo, func(m Manager) bool { _, ok := m.(*LlamaCppManager); return ok }},
		{vllm, VLLM, dialect.VLLMVersion, func(m Manager) bool { _, ok := m.(*VLLMManager); return ok }},
		{sglang, SGLang, dialect.SGLangVersion, func(m Manager) bool { _, ok := m.(*VLLMManager); return ok }},
		{lms, LMStudio, "", func(m Manager) bool { _, ok := m.(*LMStudioManager); return ok }},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			url := serveFake(t, c.h)
			pr := &Prober{HTTP: &http.Client{Timeout: 10 * time.Second}, NoFoundryCLI: true}
			info, err := pr.Identify(context.Background(), url+"/v1")
			if err != nil {
				t.Fatal(err)
			}
			if info.Kind != c.kind || !info.Simulated || info.Version != c.version {
				t.Errorf("identified as %+v, want %s %q, simulated", info, c.kind, c.version)
			}
			if mgr := NewManager(info, nil); !c.mgr(mgr) || mgr.Info().Kind != c.kind {
				t.Errorf("manager %T of %s", mgr, mgr.Info().Kind)
			}
		})
	}
}

func TestNewManagerGenericKinds(t *testing.T) {
	for _, k := range []Kind{OpenAI, Sim, Kind("unknown")} {
		m, ok := NewManager(Info{Kind: k, Endpoint: "http://127.0.0.1:1/v1"}, nil).(*Generic)
		if !ok {
			t.Errorf("%s: not Generic", k)
			continue
		}
		if c := m.Capabilities(); c != (Capabilities{Loaded: true}) {
			t.Errorf("%s: capabilities %+v", k, c)
		}
	}
}
