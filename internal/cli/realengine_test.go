package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// Integration tests against real engines. They run only when an engine is
// named in the environment, and are skipped with a message otherwise:
//
//	FLPERF_OLLAMA_BIN=/path/to/ollama   (a build this test starts itself; see below)
//	FLPERF_TEST_OLLAMA_URL=http://127.0.0.1:11434 FLPERF_TEST_OLLAMA_MODEL=llama3.2:1b
//	FLPERF_TEST_LLAMACPP_URL=http://127.0.0.1:8080
//	FLPERF_TEST_VLLM_URL=http://127.0.0.1:8000  FLPERF_TEST_SGLANG_URL=http://127.0.0.1:30000
//	FLPERF_TEST_LMSTUDIO_URL=http://127.0.0.1:1234 FLPERF_TEST_LMSTUDIO_MODEL=…
//	FLPERF_TEST_FOUNDRY=1 FLPERF_TEST_FOUNDRY_MODEL=phi-4-mini   (found through the foundry CLI)
//
// Each benchmarks one short scenario and checks that real requests succeed,
// the engine is identified as itself (not simulated) and tokens are counted
// from the engine, never from chunks.
//
// With FLPERF_OLLAMA_BIN (CI sets it, with FLPERF_REQUIRE_OLLAMA=1 so that
// the test fails rather than skips without it), the test starts that
// Ollama on a free loopback port with its models in a temporary
// directory, makes a tiny random-weight model from a GGUF file it writes
// itself (no download, no network), and checks much more: see
// testCIOllama.
func TestRealEngines(t *testing.T) {
	ci := startCIOllama(t)
	t.Run("ollama-ci", func(t *testing.T) {
		if ci == nil {
			t.Skip(ciOllamaHowTo)
		}
		testCIOllama(t, ci)
	})

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
			model := os.Getenv(c.modelVar)
			if c.urlVar != "" {
				url := os.Getenv(c.urlVar)
				if url == "" && c.kind == "ollama" && ci != nil {
					url, model = ci.v1, ci.model
				}
				if url == "" {
					t.Skipf("no real %s engine: set %s (and %s) to run this test", c.name, c.urlVar, c.modelVar)
				}
				args = append(args, "--endpoint", url)
			} else if os.Getenv("FLPERF_TEST_FOUNDRY") != "1" {
				t.Skip("no real Foundry Local: set FLPERF_TEST_FOUNDRY=1 (and FLPERF_TEST_FOUNDRY_MODEL) to run this test")
			} else {
				args = append(args, "--engine", "foundry")
			}
			if model != "" {
				args = append(args, "--model", model)
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

// ciOllamaHowTo is the skip message without FLPERF_OLLAMA_BIN.
const ciOllamaHowTo = "no Ollama build: set FLPERF_OLLAMA_BIN to an ollama binary to run these checks; " +
	"build one (CGO, gcc and g++, about 2.5 min) with: GOBIN=$HOME/.cache/flperf-ci/ollama-v0.6.5 " +
	"go install github.com/ollama/ollama@v0.6.5 (.ci/run does this)"

// ciOllama is an Ollama server this test started, with the tiny model made.
type ciOllama struct {
	root, v1 string // http://127.0.0.1:PORT and …/v1
	model    string // the tiny model's name
	gguf     string // the GGUF file it was made from
	version  string // GET /api/version
	dir      string // temporary: models, home, logs, databases
}

// The tiny model's chat template: each message as <|role|>content, then
// the assistant's turn.
const ciTemplate = "{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}\n{{ end }}<|assistant|>"

// startCIOllama starts FLPERF_OLLAMA_BIN serve as a child process, with
// OLLAMA_HOST on a free 127.0.0.1 port and OLLAMA_MODELS and HOME in a
// temporary directory, and stops it when the test ends. It returns nil
// when no binary is named (a failure when FLPERF_REQUIRE_OLLAMA=1).
func startCIOllama(t *testing.T) *ciOllama {
	t.Helper()
	bin := os.Getenv("FLPERF_OLLAMA_BIN")
	if bin == "" {
		if os.Getenv("FLPERF_REQUIRE_OLLAMA") == "1" {
			t.Fatal("FLPERF_REQUIRE_OLLAMA=1 but FLPERF_OLLAMA_BIN is not set")
		}
		return nil
	}
	dir := t.TempDir()
	for _, d := range []string{"models", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "ollama.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"HOME="+filepath.Join(dir, "home"), "OLLAMA_NUM_PARALLEL=4", "OLLAMA_KEEP_ALIVE=10m", "OLLAMA_NOPRUNE=1", "GIN_MODE=release")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s serve: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			logTail(t, logPath)
		}
	})
	o := &ciOllama{root: "http://" + host, v1: "http://" + host + "/v1", model: "flperf-tiny:latest", dir: dir,
		gguf: filepath.Join(dir, "tiny-llama.gguf")}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v struct {
			Version string `json:"version"`
		}
		resp, err := http.Get(o.root + "/api/version")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
		}
		if err == nil {
			o.version = v.Version
			break
		}
		select {
		case err := <-exited:
			logTail(t, logPath)
			t.Fatalf("%s serve exited before answering: %v", bin, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s serve did not answer GET /api/version within 60 s: %v", bin, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := writeTinyLlama(o.gguf, defaultTinyLlama); err != nil {
		t.Fatal(err)
	}
	return o
}

// logTail prints the last lines of the engine's log.
func logTail(t *testing.T, path string) {
	t.Helper()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	t.Logf("last lines of %s:\n%s", path, strings.Join(lines[max(0, len(lines)-40):], "\n"))
}

// testCIOllama checks flperf against the Ollama it started: detection,
// flperf models (create from the GGUF file, list, load, unload), a cold
// start, then 100 requests at concurrency 1 and 4 on the OpenAI route
// (streamed) and on the native /api/chat, each with 0 errors, every token
// count equal to the tokens Ollama streamed and to its eval_count, and
// (native) flperf's decode rate within 5 % of Ollama's eval_count /
// eval_duration. It logs the figures.
func testCIOllama(t *testing.T, o *ciOllama) {
	ep := []string{"--endpoint", o.v1}

	// Detection: flperf names the engine Ollama, real, at its version.
	out := run(t, append([]string{"models", "--format", "json", "--set", "downloaded"}, ep...)...)
	wantCode(t, out, ExitOK)
	var listing struct {
		Engine struct {
			Kind, Version string
			Simulated     bool
		} `json:"engine"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &listing); err != nil {
		t.Fatal(err, out.stdout)
	}
	if listing.Engine.Kind != "ollama" || listing.Engine.Simulated || listing.Engine.Version != o.version {
		t.Fatalf("engine %+v, want a real ollama at version %q", listing.Engine, o.version)
	}
	t.Logf("detected: ollama %s at %s", o.version, o.root)

	// Create the model from the file. num_thread 1: ggml's worker threads
	// wait for each other by spinning, and on a CPU shared with other work
	// (CI) each token then costs tens of times more.
	start := time.Now()
	out = run(t, append([]string{"models", "create", o.model, "--file", o.gguf, "--template", ciTemplate,
		"--parameter", "num_thread=1"}, ep...)...)
	wantCode(t, out, ExitOK)
	if !strings.Contains(out.stdout, "created "+o.model) || !strings.Contains(out.stderr, "success") {
		t.Fatalf("create: stdout %q stderr %q", out.stdout, out.stderr)
	}
	t.Logf("models create from a %d-byte GGUF: %v", fileSize(t, o.gguf), time.Since(start).Round(time.Millisecond))

	// Its size is the sum of its layers: the GGUF, the template and the
	// parameters.
	m, ok := ciModel(t, o, "downloaded")
	if size := fileSize(t, o.gguf); !ok || m.Family != "llama" || m.Quantization != "F16" || m.SizeBytes < size || m.SizeBytes > size+4096 {
		t.Fatalf("downloaded models: %+v (found %v), want %s, llama, F16, %d bytes and a template", m, ok, o.model, size)
	}
	out = run(t, append([]string{"models", "load", o.model}, ep...)...)
	wantCode(t, out, ExitOK)
	if m, ok := ciModel(t, o, "loaded"); !ok || m.Device != "CPU" || m.ExpiresAt == nil {
		t.Fatalf("loaded models after load: %+v (found %v), want %s on the CPU with an expiry", m, ok, o.model)
	}
	out = run(t, append([]string{"models", "unload", o.model}, ep...)...)
	wantCode(t, out, ExitOK)
	// Ollama unloads in the background: wait until /api/ps no longer has it.
	waitFor(t, 30*time.Second, "the model to leave /api/ps after unload", func() bool {
		_, ok := ciModel(t, o, "loaded")
		return !ok
	})

	// Cold start: unloaded now, so the first request waits for a load.
	cold := ciRun(t, o, "cold", 3, 1, true, "--cold")
	if c := cold.cold; c == nil || c.Outcome != "ok" || c.LoadMS <= 0 || c.TTFTMS == nil || *c.TTFTMS <= 0 {
		t.Fatalf("cold start %+v, want a load time and an ok first request", c)
	} else {
		t.Logf("cold start: load %.1f ms, first request TTFT %.1f ms", c.LoadMS, *c.TTFTMS)
	}

	for _, native := range []bool{false, true} {
		for _, conc := range []int{1, 4} {
			name := fmt.Sprintf("openai-stream-c%d", conc)
			if native {
				name = fmt.Sprintf("native-c%d", conc)
			}
			t.Run(name, func(t *testing.T) { ciRun(t, o, name, 100, conc, native) })
		}
	}
	t.Run("engine-facing", func(t *testing.T) { ciEngineFacing(t, o) })
	t.Run("input-lengths", func(t *testing.T) { ciInputLengths(t, o) })
	t.Run("conversation-and-num-ctx", func(t *testing.T) { ciConversationNumCtx(t, o) })
}

// ciEngineFacing checks on the real Ollama what flperf assumes of it
// beyond the measurements (what its simulated dialect imitates): its /v1
// ignores vLLM's ignore_eos and min_tokens (no 400 for a bad one), so
// --fixed-output is refused as unsupported there before any request; the
// engine series reads /api/ps (one model loaded, with its size; queue
// figures absent, never 0); a model it does not have is refused before any
// request (preparation loads each model), with Ollama's own message, and
// --retries does not turn that into retried requests.
func ciEngineFacing(t *testing.T, o *ciOllama) {
	body := `{"model":"` + o.model + `","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"ignore_eos":true,"min_tokens":-5}`
	resp, err := http.Post(o.v1+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/v1 with ignore_eos and min_tokens -5: %d %s; Ollama was expected to ignore both", resp.StatusCode, b)
	}

	db := filepath.Join(o.dir, "engine-facing.db")
	out := run(t, "run", "--endpoint", o.v1, "--model", o.model, "--scenario", "Simple Q&A - Short", "--requests", "6",
		"--warmup", "0", "--max-tokens", "8", "--fixed-output", "--sample-interval", "250ms", "--format", "json", "--db", db)
	wantCode(t, out, ExitOK)
	var doc struct {
		ID     string `json:"id"`
		Config struct {
			OutputForcedBy string `json:"output_forced_by"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.stdout)
	}
	if doc.Config.OutputForcedBy != "unsupported" || !strings.Contains(out.stderr, "fixed") {
		t.Errorf("--fixed-output on Ollama: output_forced_by %q; stderr:\n%s", doc.Config.OutputForcedBy, out.stderr)
	}
	exp := run(t, "export", doc.ID, "--db", db, "--format", "json")
	wantCode(t, exp, ExitOK)
	var arch struct {
		EngineSeries *struct {
			Samples []map[string]any `json:"samples"`
		} `json:"engine_series"`
	}
	if err := json.Unmarshal([]byte(exp.stdout), &arch); err != nil {
		t.Fatal(err)
	}
	if arch.EngineSeries == nil || len(arch.EngineSeries.Samples) < 2 {
		t.Fatalf("engine series of a run on Ollama: %+v", arch.EngineSeries)
	}
	loaded := 0
	for _, smp := range arch.EngineSeries.Samples {
		if smp["loaded_models"] == float64(1) && smp["vram_bytes"] != nil {
			loaded++
		}
		for _, k := range []string{"running", "waiting", "kv_cache_usage"} {
			if _, ok := smp[k]; ok {
				t.Errorf("a sample of Ollama's series has %s = %v: Ollama reports no such figure", k, smp[k])
			}
		}
	}
	if loaded == 0 {
		t.Errorf("no sample of %d saw the model loaded in /api/ps: %v", len(arch.EngineSeries.Samples), arch.EngineSeries.Samples)
	}
	t.Logf("engine series on Ollama: %d samples, %d with the model loaded", len(arch.EngineSeries.Samples), loaded)

	out = run(t, "run", "--endpoint", o.v1, "--model", "no-such-model:1b", "--scenario", "Simple Q&A - Short", "--requests", "2",
		"--warmup", "0", "--retries", "2", "--sample-interval", "off", "--format", "json", "--no-save")
	if out.code == ExitOK || out.stdout != "" || !strings.Contains(out.stderr, `model 'no-such-model:1b' not found`) {
		t.Errorf("an unknown model on Ollama: exit %d, stdout %q; want it refused before any request with Ollama's message\n%s", out.code, out.stdout, out.stderr)
	}
}

// ciListed is one model of flperf models --format json.
type ciListed struct {
	ID           string     `json:"id"`
	Family       string     `json:"family"`
	Quantization string     `json:"quantization"`
	SizeBytes    int64      `json:"size_bytes"`
	Device       string     `json:"device"`
	ExpiresAt    *time.Time `json:"expires_at"`
}

// ciModel finds the tiny model in flperf models --set set.
func ciModel(t *testing.T, o *ciOllama, set string) (ciListed, bool) {
	t.Helper()
	out := run(t, "models", "--endpoint", o.v1, "--set", set, "--format", "json")
	wantCode(t, out, ExitOK)
	var doc struct {
		Sets []struct {
			Models []ciListed `json:"models"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil || len(doc.Sets) != 1 {
		t.Fatalf("models --set %s: %v\n%s", set, err, out.stdout)
	}
	for _, m := range doc.Sets[0].Models {
		if m.ID == o.model {
			return m, true
		}
	}
	return ciListed{}, false
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// ciResult is what ciRun read back.
type ciResult struct {
	cold *struct {
		LoadMS  float64  `json:"load_ms"`
		TTFTMS  *float64 `json:"ttft_ms"`
		Outcome string   `json:"outcome"`
	}
}

// ciMaxTokens is each request's token limit: the tiny model never ends
// an answer itself, so every answer has exactly this many tokens. Ollama
// 0.6.5 times eval_duration from the first token's sampling to the last
// one's, N−1 steps for eval_count = N tokens, so its decode rate is N/(N−1)
// times the rate between tokens that flperf measures: 1.6 % at 64.
const ciMaxTokens = 64

// ciRun benchmarks the tiny model with n measured requests at concurrency
// conc (on /api/chat when native), saving the run in a database of its
// own, and checks the summary and every stored record: no failure, each
// answer exactly ciMaxTokens tokens by the engine's count (usage on /v1,
// eval_count natively) and by the number of text events Ollama streamed
// (one per token: the model only generates whole ASCII pieces), and,
// natively, flperf's decode rate within 5 % of Ollama's own (checked from
// 20 requests on: a median of fewer is noise on a shared machine).
func ciRun(t *testing.T, o *ciOllama, name string, n, conc int, native bool, extra ...string) ciResult {
	t.Helper()
	db := filepath.Join(o.dir, name+".db")
	args := []string{"run", "--endpoint", o.v1, "--model", o.model, "--scenario", "Simple Q&A - Short",
		"--requests", fmt.Sprint(n), "--concurrency", fmt.Sprint(conc), "--warmup", "1",
		"--max-tokens", fmt.Sprint(ciMaxTokens), "--temperature", "0", "--timeout", "2m",
		"--sample-interval", "off", "--format", "json", "--db", db}
	if native {
		args = append(args, "--ollama-native")
	}
	start := time.Now()
	out := run(t, append(args, extra...)...)
	took := time.Since(start)
	wantCode(t, out, ExitOK)
	var doc struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Engine struct {
			Kind, API string
			Simulated bool
			Models    []struct {
				ID   string          `json:"id"`
				Cold json.RawMessage `json:"cold"`
			} `json:"models"`
		} `json:"engine"`
		Total struct {
			Requests    int            `json:"requests"`
			OK          int            `json:"ok"`
			Failures    map[string]int `json:"failures"`
			TokenSource string         `json:"token_source"`
			DecodeTPS   struct {
				Mean, P50 float64
			} `json:"decode_tps"`
			Engine *struct {
				N         int `json:"n"`
				DecodeTPS struct {
					Mean, P50 float64
				} `json:"decode_tps"`
			} `json:"engine"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.stdout)
	}
	wantAPI, wantSource := "openai", record.SourceUsage
	if native {
		wantAPI, wantSource = "ollama-native", record.SourceEngine
	}
	tot := doc.Total
	failed := 0
	for _, c := range tot.Failures {
		failed += c
	}
	if doc.Status != "completed" || doc.Engine.Kind != "ollama" || doc.Engine.Simulated || doc.Engine.API != wantAPI ||
		tot.Requests != n || tot.OK != n || failed != 0 || tot.TokenSource != string(wantSource) {
		t.Errorf("run: status %q, engine %s (simulated %v, api %q), %d requests, %d ok, failures %v, token source %q; want %d ok on %s with %s counts\n%s",
			doc.Status, doc.Engine.Kind, doc.Engine.Simulated, doc.Engine.API, tot.Requests, tot.OK, tot.Failures, tot.TokenSource, n, wantAPI, wantSource, out.stderr)
	}

	// Every stored record, from the database.
	exp := run(t, "export", doc.ID, "--db", db, "--format", "jsonl")
	wantCode(t, exp, ExitOK)
	sc := bufio.NewScanner(strings.NewReader(exp.stdout))
	sc.Buffer(nil, 16<<20)
	measured := 0
	var engineTokens int
	for sc.Scan() {
		var r record.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %v: %s", err, sc.Text())
		}
		if r.Warmup {
			continue
		}
		measured++
		bad := r.Outcome != record.OK || r.OutputTokens != ciMaxTokens || r.OutputSource != wantSource ||
			r.ChunkCount != ciMaxTokens || r.FinishReason != "length"
		if native {
			bad = bad || r.Server == nil || r.Server.DecodeTokens == nil || *r.Server.DecodeTokens != r.OutputTokens || r.Server.DecodeMS == nil
		}
		if bad {
			t.Errorf("record %d: outcome %s %s, %d tokens (%s), %d text events, finish %q, engine %+v; want ok, %d tokens = %d events = eval_count, finish length",
				r.Seq, r.Outcome, r.Error, r.OutputTokens, r.OutputSource, r.ChunkCount, r.FinishReason, r.Server, ciMaxTokens, ciMaxTokens)
		}
		if r.Server != nil && r.Server.DecodeTokens != nil {
			engineTokens += *r.Server.DecodeTokens
		}
	}
	if measured != n {
		t.Errorf("%d measured records stored, want %d", measured, n)
	}

	line := fmt.Sprintf("%s: %d requests at concurrency %d in %v, %d ok, %d failed, client decode %.1f tok/s (mean %.1f)",
		name, n, conc, took.Round(time.Millisecond), tot.OK, failed, tot.DecodeTPS.P50, tot.DecodeTPS.Mean)
	if native {
		e := tot.Engine
		if e == nil || e.N != n {
			t.Fatalf("native run without the engine's figures on every request: %+v", e)
		}
		diff := tot.DecodeTPS.P50/e.DecodeTPS.P50 - 1
		line += fmt.Sprintf(", Ollama's eval_count/eval_duration %.1f tok/s (mean %.1f): %+.2f %%, eval_count total %d",
			e.DecodeTPS.P50, e.DecodeTPS.Mean, 100*diff, engineTokens)
		if n >= 20 && (math.Abs(diff) > 0.05 || math.IsNaN(diff)) {
			t.Errorf("flperf's median decode rate %.2f tok/s is %+.2f %% from Ollama's own %.2f tok/s, want within 5 %%",
				tot.DecodeTPS.P50, 100*diff, e.DecodeTPS.P50)
		}
	}
	t.Log(line)

	var res ciResult
	for _, m := range doc.Engine.Models {
		if m.ID == o.model && len(m.Cold) > 0 && string(m.Cold) != "null" {
			if err := json.Unmarshal(m.Cold, &res.cold); err != nil {
				t.Fatal(err)
			}
		}
	}
	return res
}
