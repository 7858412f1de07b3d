package cli

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flperf/internal/record"
)

// ciConvRecords runs flperf with args (plus the CI model and a database
// of its own) and returns the run's JSON document and its measured
// records, read back with export.
func ciConvRecords(t *testing.T, o *ciOllama, name string, args ...string) (outcome, map[string]any, []record.Record) {
	t.Helper()
	db := filepath.Join(o.dir, name+".db")
	out := run(t, append([]string{"run", "--endpoint", o.v1, "--model", o.model, "--warmup", "0", "--concurrency", "1",
		"--temperature", "0", "--timeout", "2m", "--sample-interval", "off", "--format", "json", "--db", db}, args...)...)
	if out.code != ExitOK {
		return out, nil, nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.stdout)
	}
	exp := run(t, "export", doc["id"].(string), "--db", db, "--format", "jsonl")
	wantCode(t, exp, ExitOK)
	var recs []record.Record
	sc := bufio.NewScanner(strings.NewReader(exp.stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r record.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %v: %s", err, sc.Text())
		}
		if !r.Warmup {
			recs = append(recs, r)
		}
	}
	return out, doc, recs
}

// ciConversationNumCtx checks on the real Ollama two behaviours built
// against the simulator (docs/metrics.md §12 and §13).
//
// Conversations: a 3-turn conversation at concurrency 1, natively and on
// /v1. Ollama 0.6.5 reuses the slot's cached prefix but still counts the
// whole prompt in prompt_eval_count (and usage.prompt_tokens): each turn's
// input is the previous turn's input + output + the new user message,
// never a drop. So flperf must infer no cache hit: cached_tokens 0 on
// every turn, the input count Ollama's own.
//
// num_ctx: the tiny model is trained for 8192 tokens but Ollama 0.6.5
// loads it with its default num_ctx 2048, and its /api/ps does not say so
// (flperf reads the context window as unknown). A 3000-token input_tokens
// prompt is refused before the run (calibration finds the engine counts at
// most 2048); with --force it is sent, Ollama counts exactly 2048 and the
// run's suite.truncated and warnings say the prompts were cut. A literal
// prompt longer than 2048 tokens is counted 2048 too, as a direct
// /api/chat request confirms; flperf records that count, but with the
// window unknown and no length asked it cannot tell it was cut (logged).
func ciConversationNumCtx(t *testing.T, o *ciOllama) {
	dir := t.TempDir()
	suitePath := filepath.Join(dir, "conv.json")
	if err := os.WriteFile(suitePath, []byte(`{"name":"conv","scenarios":[
		{"name":"conv","system":"Be brief.","turns":["Hi there, how are you today","Tell me more about that","And then what happened"],"max_tokens":16}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, native := range []bool{true, false} {
		name, extra, source := "conv-v1", []string{}, record.SourceUsage
		if native {
			name, extra, source = "conv-native", []string{"--ollama-native"}, record.SourceEngine
		}
		out, _, recs := ciConvRecords(t, o, name, append([]string{"--suite", suitePath, "--requests", "3"}, extra...)...)
		wantCode(t, out, ExitOK)
		if len(recs) != 3 {
			t.Fatalf("%s: %d records, want 3 turns\n%s", name, len(recs), out.stderr)
		}
		for i, r := range recs {
			t.Logf("%s: turn %d %s, input %d (%s), cached %d, output %d", name, r.Turn, r.Outcome, r.InputTokens, r.InputSource, r.CachedTokens, r.OutputTokens)
			if r.Outcome != record.OK || r.Turn != i+1 || r.InputSource != source || r.OutputTokens != 16 {
				t.Errorf("%s: record %d: turn %d, %s %s, input source %q, %d output tokens; want turn %d ok, %s, 16 tokens",
					name, i, r.Turn, r.Outcome, r.Error, r.InputSource, r.OutputTokens, i+1, source)
			}
			// Ollama 0.6.5 counts the whole history: no drop, so no hit.
			if r.CachedTokens != 0 {
				t.Errorf("%s: turn %d reports %d cached tokens, but Ollama's count did not drop (input %d)", name, r.Turn, r.CachedTokens, r.InputTokens)
			}
			if i > 0 && r.InputTokens <= recs[i-1].InputTokens+recs[i-1].OutputTokens {
				t.Errorf("%s: turn %d input %d, not above the previous turn's %d + %d: Ollama 0.6.5 was expected to count the whole history",
					name, r.Turn, r.InputTokens, recs[i-1].InputTokens, recs[i-1].OutputTokens)
			}
		}
	}

	// An input length above num_ctx 2048: refused before the run, then
	// sent with --force and flagged as cut.
	const numCtx = 2048
	lenArgs := []string{"--input-tokens", "3000", "--max-tokens", "4", "--requests", "1", "--ollama-native"}
	out, _, _ := ciConvRecords(t, o, "len-3000", lenArgs...)
	if out.code == ExitOK || out.stdout != "" || !strings.Contains(out.stderr, "counts at most 2048 tokens of a prompt, below the 3000 asked for") {
		t.Errorf("input_tokens 3000 over num_ctx 2048 without --force: exit %d, want it refused before the run\n%s", out.code, out.stderr)
	}
	out, doc, recs := ciConvRecords(t, o, "len-3000-force", append(lenArgs, "--force")...)
	wantCode(t, out, ExitOK)
	var res struct {
		Suite struct {
			ContextWindows map[string]int `json:"context_windows"`
			Truncated      []struct {
				Requested, Counted int
				CountedMax         int `json:"counted_max"`
			} `json:"truncated"`
		} `json:"suite"`
		Warnings []string `json:"warnings"`
	}
	b, _ := json.Marshal(doc)
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if w, ok := res.Suite.ContextWindows[o.model]; ok {
		t.Logf("Ollama %s now tells flperf the context window: %d (it did not in 0.6.5)", o.version, w)
	}
	if len(recs) != 1 || recs[0].Outcome != record.OK || recs[0].InputTokens != numCtx || recs[0].InputSource != record.SourceEngine {
		t.Errorf("input_tokens 3000 with --force: records %+v, want one ok with Ollama's count %d", recs, numCtx)
	}
	if tr := res.Suite.Truncated; len(tr) != 1 || tr[0].Requested != 3000 || tr[0].Counted != numCtx || tr[0].CountedMax != numCtx ||
		!strings.Contains(strings.Join(res.Warnings, "\n"), "prompts cut") {
		t.Errorf("input_tokens 3000 with --force: suite.truncated %+v, warnings %q; want the cut to 2048 reported", tr, res.Warnings)
	}
	t.Logf("input_tokens 3000 over num_ctx %d: refused without --force; with it, Ollama counted %v, suite.truncated %+v", numCtx, recs[0].InputTokens, res.Suite.Truncated)

	// A literal prompt longer than num_ctx: Ollama counts num_ctx, and
	// flperf's record says what Ollama counted.
	long := strings.Repeat("the quick brown fox jumps over the lazy dog and runs away ", 150)
	resp, err := http.Post(o.root+"/api/chat", "application/json", strings.NewReader(`{"model":"`+o.model+
		`","stream":false,"options":{"num_predict":1},"messages":[{"role":"user","content":"`+long+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var direct struct {
		PromptEvalCount int `json:"prompt_eval_count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&direct)
	resp.Body.Close()
	if err != nil || direct.PromptEvalCount != numCtx {
		t.Errorf("a %d-byte prompt on /api/chat: prompt_eval_count %d (%v), want num_ctx %d", len(long), direct.PromptEvalCount, err, numCtx)
	}
	longPath := filepath.Join(dir, "long.json")
	if err := os.WriteFile(longPath, []byte(`{"name":"long","scenarios":[{"name":"long","prompt":"`+long+`","max_tokens":4}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, doc, recs = ciConvRecords(t, o, "long-literal", "--suite", longPath, "--requests", "1", "--ollama-native")
	wantCode(t, out, ExitOK)
	if len(recs) != 1 || recs[0].Outcome != record.OK || recs[0].InputTokens != direct.PromptEvalCount || recs[0].InputSource != record.SourceEngine {
		t.Errorf("a literal prompt over num_ctx: records %+v, want one ok with Ollama's count %d", recs, direct.PromptEvalCount)
	}
	// Ollama 0.6.5 does not say its num_ctx: flperf flags a count of
	// exactly its default as a cut (runner truncation).
	suite, _ := doc["suite"].(map[string]any)
	if tr, _ := suite["truncated"].([]any); len(tr) != 1 {
		t.Errorf("a literal prompt over num_ctx (Ollama counted %d): suite.truncated %v, want the cut flagged", recs[0].InputTokens, suite["truncated"])
	} else {
		t.Logf("a literal prompt over num_ctx: flagged as cut: %v", tr[0])
	}
}
