package runner

import (
	"context"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/stats"
	"flperf/internal/suite"
)

// TestMultilingualOnSim runs the builtin multilingual suite on the
// simulated engine and checks the per-language figures against the
// records: each record's prompt and text characters are the runes of what
// was sent and received, and each language row's tokens per character and
// characters per second are its records' sums and mean.
func TestMultilingualOnSim(t *testing.T) {
	s := startSim(t, sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 4000, OutputTokens: 24, Seed: 5, Usage: true})
	st, ok := suite.Builtin("multilingual")
	if !ok {
		t.Fatal("no multilingual suite")
	}
	const n = 2
	sink := &collect{}
	r := &Runner{
		Client:    backend.New(s.base, backend.Options{Timeout: 10 * time.Second}),
		Engine:    engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true},
		Suite:     st,
		Scenarios: st.Scenarios,
		Config: Config{Models: []string{"m"}, Endpoint: s.base, Stream: true, Mode: load.Sequential, Concurrency: 1,
			Requests: n, Timeout: Duration(10 * time.Second), Seed: 3},
		Sinks: []Sink{sink},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suite.Languages) != len(st.Scenarios) {
		t.Fatalf("suite languages %v, want one per scenario", res.Suite.Languages)
	}
	prompt := map[string]int{}
	for _, sc := range st.Scenarios {
		for _, m := range sc.BuildMessages("") {
			prompt[sc.Name] += utf8.RuneCountInString(m.Content)
		}
	}
	type want struct {
		outTok, outChars, inTok, promptChars int64
		rates                                []float64
	}
	wants := map[string]*want{}
	for _, rec := range sink.recs {
		if rec.Warmup || rec.Outcome != record.OK {
			t.Fatalf("record %d: warm-up %v outcome %s", rec.Seq, rec.Warmup, rec.Outcome)
		}
		if rec.TextBytes > len(rec.Text) || rec.TextChars != utf8.RuneCountInString(rec.Text) {
			t.Fatalf("record %d: %d chars, text of %d runes (%d of %d bytes kept)", rec.Seq, rec.TextChars, utf8.RuneCountInString(rec.Text), len(rec.Text), rec.TextBytes)
		}
		if rec.PromptChars != prompt[rec.Scenario] || rec.PromptChars == 0 {
			t.Errorf("record %d (%s): prompt_chars %d, want %d", rec.Seq, rec.Scenario, rec.PromptChars, prompt[rec.Scenario])
		}
		if rec.OutputSource != record.SourceUsage || rec.InputSource != record.SourceUsage {
			t.Fatalf("record %d: token sources %s / %s, want usage", rec.Seq, rec.OutputSource, rec.InputSource)
		}
		lang := res.Suite.Languages[rec.Scenario]
		w := wants[lang]
		if w == nil {
			w = &want{}
			wants[lang] = w
		}
		w.outTok += int64(rec.OutputTokens)
		w.outChars += int64(rec.TextChars)
		w.inTok += int64(rec.InputTokens)
		w.promptChars += int64(rec.PromptChars)
		w.rates = append(w.rates, float64(rec.TextChars)/(rec.LastToken-rec.FirstToken).Seconds())
	}
	rows := stats.LanguageRows(res.Groups, res.Suite.Languages)
	if len(rows) != len(wants) || len(rows) < 8 {
		t.Fatalf("%d language rows, want %d (8+)", len(rows), len(wants))
	}
	for _, l := range rows {
		w := wants[l.Language]
		c := l.Chars
		if w == nil || c == nil || l.Scenarios != 3 || l.OK != 3*n {
			t.Fatalf("row %+v: want 3 scenarios, %d ok, character figures", l, 3*n)
		}
		if c.OutputTokens != w.outTok || c.OutputChars != w.outChars || c.InputTokens != w.inTok || c.PromptChars != w.promptChars {
			t.Errorf("%s: sums %+v, want %d/%d out, %d/%d in", l.Language, c, w.outTok, w.outChars, w.inTok, w.promptChars)
		}
		if *c.TokensPerChar != float64(w.outTok)/float64(w.outChars) || *c.InputTokensPerChar != float64(w.inTok)/float64(w.promptChars) {
			t.Errorf("%s: tokens per char %v out, %v in", l.Language, *c.TokensPerChar, *c.InputTokensPerChar)
		}
		mean := 0.0
		for _, v := range w.rates {
			mean += v
		}
		mean /= float64(len(w.rates))
		if l.CharsN != len(w.rates) || l.CharsPerS == nil || math.Abs(*l.CharsPerS-mean) > 1e-9*mean {
			t.Errorf("%s: chars/s %v over %d, want %v over %d", l.Language, l.CharsPerS, l.CharsN, mean, len(w.rates))
		}
	}
}
