package cli

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestRunFoundry1xBenchmarksTheLoadedVariant runs flperf against a
// simulated Foundry Local 1.x that behaves as the public core does (load
// and unload by alias only; an alias loads its selected variant, its first
// downloaded one), with its fake foundry CLI answering --output json on
// PATH. Phi-4-mini's CUDA and CPU variants are downloaded, so the alias
// selects CUDA: --model ALIAS and --model with the CUDA variant's id both
// benchmark the CUDA variant; --model with the CPU variant's id cannot be
// loaded over HTTP, so the run benchmarks what the engine loaded, says so,
// and records what was asked for.
func TestRunFoundry1xBenchmarksTheLoadedVariant(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the simulated foundry CLI is a shell script")
	}
	const cuda, cpu = "Phi-4-mini-instruct-cuda-gpu:1", "Phi-4-mini-instruct-generic-cpu:1"
	for _, c := range []struct {
		model, requested string
		warned           bool
	}{
		{"phi-4-mini", "phi-4-mini", false},
		{cuda, "", false},
		{cpu, cpu, true},
	} {
		t.Run(c.model, func(t *testing.T) {
			d, err := dialect.NewFoundry(dialect.FoundryOptions{Generation: dialect.Foundry1x, Downloaded: []string{cpu, cuda},
				Profile: sim.Profile{TTFT: 2 * time.Millisecond, DecodeTPS: 4000}})
			if err != nil {
				t.Fatal(err)
			}
			s := httptest.NewServer(d)
			t.Cleanup(s.Close)
			dir := t.TempDir()
			if _, err := d.WriteCLI(dir, s.URL, dialect.FoundryCLIOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			o := run(t, "run", "--endpoint", s.URL+"/v1", "--model", c.model, "--requests", "8", "--concurrency", "4", "--warmup", "0",
				"--scenario", "Simple Q&A - Short", "--max-tokens", "4", "--format", "json", "--no-save")
			wantCode(t, o, ExitOK)
			var doc struct {
				Engine struct {
					Models []struct {
						ID        string `json:"id"`
						Alias     string `json:"alias"`
						Device    string `json:"device"`
						EP        string `json:"execution_provider"`
						Requested string `json:"requested"`
						Choice    string `json:"choice"`
					} `json:"models"`
				} `json:"engine"`
				Config struct {
					Models []string `json:"models"`
				} `json:"config"`
				Groups []struct {
					OK int `json:"ok"`
				} `json:"groups"`
			}
			if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
				t.Fatal(err, o.stdout)
			}
			if len(doc.Engine.Models) != 1 || len(doc.Config.Models) != 1 || len(doc.Groups) != 1 {
				t.Fatalf("run document: %+v", doc)
			}
			m := doc.Engine.Models[0]
			if m.ID != cuda || doc.Config.Models[0] != cuda || m.Alias != "phi-4-mini" || m.Device != "GPU" || m.EP != "CUDAExecutionProvider" ||
				m.Requested != c.requested || (c.requested != "" && m.Choice == "") {
				t.Errorf("recorded model %+v (config %q); want %s, asked as %q, with the reason", m, doc.Config.Models, cuda, c.requested)
			}
			if doc.Groups[0].OK != 8 {
				t.Errorf("%d of 8 requests OK", doc.Groups[0].OK)
			}
			warned := strings.Contains(o.stderr, "the engine loaded "+cuda) && strings.Contains(o.stderr, "not "+cpu)
			if warned != c.warned {
				t.Errorf("warning about the loaded variant = %v, want %v:\n%s", warned, c.warned, o.stderr)
			}
			st := d.Stats()
			if st.Loads != 1 || st.NotLoaded != 0 || st.Chats != 8 {
				t.Errorf("engine saw %+v; want one load and 8 chats, none refused", st)
			}
			// The load routes were given the variant id (404: the core takes
			// aliases only) and then the alias.
			var asked []string
			for _, r := range d.Requests() {
				if strings.HasPrefix(r.Path, "/models/load/") {
					asked = append(asked, r.ID)
				}
			}
			if len(asked) == 0 || asked[len(asked)-1] != "phi-4-mini" {
				t.Errorf("load routes asked for %q; want the alias last", asked)
			}
		})
	}
}
