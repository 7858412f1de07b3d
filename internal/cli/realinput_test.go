package cli

import (
	"context"
	"testing"

	"flperf/internal/backend"
	"flperf/internal/inputlen"
	"flperf/internal/inputlen/gguf"
	"flperf/internal/record"
	"flperf/internal/suite"
)

// ciInputLengths checks the input-length methods against the real Ollama:
// the tiny model's own tokenizer read from its GGUF file counts a prompt
// as Ollama's prompt_eval_count does, once the chat template's overhead
// is measured with one request; then prompts resolved by the gguf method
// and by calibration are each counted by Ollama exactly as asked, the
// runner's nonce in place.
func ciInputLengths(t *testing.T, o *ciOllama) {
	ctx := context.Background()
	tok, err := gguf.Open(o.gguf)
	if err != nil {
		t.Fatal(err)
	}
	native := backend.NewOllamaNative(o.root, backend.Options{})
	count := func(msgs []suite.Message) int {
		t.Helper()
		req := backend.Request{Model: o.model, MaxTokens: 1}
		for _, m := range msgs {
			req.Messages = append(req.Messages, backend.Message{Role: m.Role, Content: m.Content})
		}
		var rec record.Record
		native.Do(ctx, req, &rec)
		if rec.Outcome != record.OK || rec.InputSource != record.SourceEngine {
			t.Fatalf("request: %s %s (input source %q)", rec.Outcome, rec.Error, rec.InputSource)
		}
		return rec.InputTokens
	}
	probe := []suite.Message{{Role: suite.RoleUser, Content: "[00000000] " + inputlen.Filler(1, 40)}}
	g, _ := tok.CountMessages(probe)
	overhead := count(probe) - g
	t.Logf("the tiny model's chat template adds %d tokens to the GGUF tokenizer's count (BOS included in it)", overhead)
	tok.TemplateTokens = overhead

	const seed = 5
	// Calibration's probes each prefill their prompt on a CPU: shorter
	// lengths keep the test's time down.
	for _, c := range []struct {
		method  string
		opts    inputlen.Options
		lengths []int
	}{
		{inputlen.MethodGGUF, inputlen.Options{GGUF: func(context.Context, string) (inputlen.TextCounter, error) { return tok, nil }}, []int{64, 257, 1000}},
		{inputlen.MethodCalibration, inputlen.Options{Sender: native}, []int{64, 300}},
	} {
		c.opts.Seed, c.opts.CacheBust = seed, true
		r := inputlen.New(c.opts)
		for i, n := range c.lengths {
			p, err := r.Prompt(ctx, o.model, n)
			if err != nil || p.Method != c.method || !p.Exact {
				t.Fatalf("%s, %d tokens: %+v %v", c.method, n, p, err)
			}
			msgs := append([]suite.Message(nil), p.Messages...)
			msgs[0].Content = "[" + suite.DigitNonce(seed, o.model, "real", i) + "] " + msgs[0].Content
			if got := count(msgs); got != n {
				t.Errorf("%s: %d tokens asked, Ollama's prompt_eval_count is %d", c.method, n, got)
			}
		}
		st := r.Stats()
		t.Logf("%s: lengths %v hit exactly; %d calibration requests (%.2f s)", c.method, c.lengths, st.CalibrationRequests, st.CalibrationTime.Seconds())
	}
}
