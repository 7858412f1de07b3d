package cli

import (
	"encoding/json"
	"os"
	"testing"
)

// Integration tests against real engines. They run only when an engine is
// named in the environment, and are skipped with a message otherwise:
//
//	FLPERF_TEST_OLLAMA_URL=http://127.0.0.1:11434 FLPERF_TEST_OLLAMA_MODEL=llama3.2:1b
//	FLPERF_TEST_LLAMACPP_URL=http://127.0.0.1:8080
//	FLPERF_TEST_VLLM_URL=http://127.0.0.1:8000  FLPERF_TEST_SGLANG_URL=http://127.0.0.1:30000
//	FLPERF_TEST_LMSTUDIO_URL=http://127.0.0.1:1234 FLPERF_TEST_LMSTUDIO_MODEL=…
//	FLPERF_TEST_FOUNDRY=1 FLPERF_TEST_FOUNDRY_MODEL=phi-4-mini   (found through the foundry CLI)
//
// Each benchmarks one short scenario and checks that real requests succeed,
// the engine is identified as itself (not simulated) and tokens are counted
// from the engine, never from chunks.
func TestRealEngines(t *testing.T) {
	cases := []struct {
		name, urlVar, modelVar, kind string
		extra                        []string
	}{
		{"ollama", "FLPERF_TEST_OLLAMA_URL", "FLPERF_TEST_OLLAMA_MODEL", "ollama", nil},
		{"ollama-native", "FLPERF_TEST_OLLAMA_URL", "FLPERF_TEST_OLLAMA_MODEL", "ollama", []string{"--ollama-native"}},
		{"llamacpp", "FLPERF_TEST_LLAMACPP_URL", "FLPERF_TEST_LLAMACPP_MODEL", "llamacpp", nil},
		{"vllm", "FLPERF_TEST_VLLM_URL", "FLPERF_TEST_VLLM_MODEL", "vllm", nil},
		{"sglang", "FLPERF_TEST_SGLANG_URL", "FLPERF_TEST_SGLANG_MODEL", "sglang", nil},
		{"lmstudio", "FLPERF_TEST_LMSTUDIO_URL", "FLPERF_TEST_LMSTUDIO_MODEL", "lmstudio", nil},
		{"foundry", "", "FLPERF_TEST_FOUNDRY_MODEL", "foundry", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"run", "--requests", "3", "--warmup", "1", "--scenario", "Simple Q&A - Short",
				"--max-tokens", "32", "--format", "json", "--no-save"}
			if c.urlVar != "" {
				url := os.Getenv(c.urlVar)
				if url == "" {
					t.Skipf("no real %s engine: set %s (and %s) to run this test", c.name, c.urlVar, c.modelVar)
				}
				args = append(args, "--endpoint", url)
			} else if os.Getenv("FLPERF_TEST_FOUNDRY") != "1" {
				t.Skip("no real Foundry Local: set FLPERF_TEST_FOUNDRY=1 (and FLPERF_TEST_FOUNDRY_MODEL) to run this test")
			} else {
				args = append(args, "--engine", "foundry")
			}
			if m := os.Getenv(c.modelVar); m != "" {
				args = append(args, "--model", m)
			}
			o := run(t, append(args, c.extra...)...)
			wantCode(t, o, ExitOK)
			var doc struct {
				Engine struct {
					Kind      string `json:"kind"`
					Simulated bool   `json:"simulated"`
				} `json:"engine"`
				Total struct {
					OK          int    `json:"ok"`
					TokenSource string `json:"token_source"`
				} `json:"total"`
			}
			if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Engine.Kind != c.kind || doc.Engine.Simulated {
				t.Errorf("engine %+v, want a real %s", doc.Engine, c.kind)
			}
			if doc.Total.OK == 0 || doc.Total.TokenSource == "chunks" {
				t.Errorf("ok %d, token source %q\n%s", doc.Total.OK, doc.Total.TokenSource, o.stderr)
			}
		})
	}
}
