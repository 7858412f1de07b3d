package stats

import (
	"math"
	"testing"
	"time"

	"flperf/internal/record"
)

// TestCharFigures computes characters per second and tokens per character
// on hand-built records: only the server's counts enter tokens per
// character, records without characters enter neither figure, and the
// model row pools the sums.
func TestCharFigures(t *testing.T) {
	withChars := func(r *record.Record, text, prompt int) *record.Record {
		r.TextChars, r.PromptChars = text, prompt
		return r
	}
	r1 := withChars(okRec("m", "ja", 0, 100*msec, 1101*msec, 100), 300, 40) // decode 1 s: 300 chars/s
	r2 := withChars(okRec("m", "ja", 0, 100*msec, 601*msec, 50), 100, 20)   // decode 0.5 s: 200 chars/s
	r3 := withChars(okRec("m", "ja", 0, 100*msec, 1101*msec, 70), 1000, 90) // estimated counts: rate only
	r3.OutputSource, r3.InputSource = record.SourceEstimate, record.SourceEstimate
	r4 := okRec("m", "ja", 0, 100*msec, 1101*msec, 80) // stored before schema 12: no characters
	r5 := withChars(failRec("m", "ja", 0, time.Second, record.Timeout), 500, 40)
	r6 := withChars(okRec("m", "en", 0, 100*msec, 1101*msec, 30), 120, 50) // decode 1 s: 120 chars/s
	s := summarize(Options{}, r1, r2, r3, r4, r5, r6)

	ja := s.Groups[0]
	if ja.Scenario != "ja" || ja.CharsPerS.N != 3 || ja.CharsPerS.P50 != 300 || math.Abs(ja.CharsPerS.Mean-500) > 1e-9 || ja.CharsPerS.Max != 1000 {
		t.Errorf("ja chars_per_s: n %d p50 %v mean %v max %v, want 3, 300, 500, 1000", ja.CharsPerS.N, ja.CharsPerS.P50, ja.CharsPerS.Mean, ja.CharsPerS.Max)
	}
	c := ja.Chars
	if c == nil || c.OutputChars != 400 || c.OutputTokens != 150 || c.PromptChars != 60 || c.InputTokens != 20 {
		t.Fatalf("ja chars: %+v, want 400 chars / 150 tokens out, 60 chars / 20 tokens in", c)
	}
	if *c.TokensPerChar != 150.0/400 || *c.InputTokensPerChar != 20.0/60 {
		t.Errorf("ja tokens per char: %v out, %v in; want %v, %v", *c.TokensPerChar, *c.InputTokensPerChar, 150.0/400, 20.0/60)
	}
	m := s.Models[0].Chars
	if m == nil || m.OutputChars != 520 || m.OutputTokens != 180 || *m.TokensPerChar != 180.0/520 || *m.InputTokensPerChar != 30.0/110 {
		t.Errorf("model chars: %+v, want 520 chars / 180 tokens out, 110 / 30 in", m)
	}
	if s.Models[0].CharsPerS.N != 4 || s.Models[0].CharsPerS.Min != 120 {
		t.Errorf("model chars_per_s: n %d min %v, want 4, 120", s.Models[0].CharsPerS.N, s.Models[0].CharsPerS.Min)
	}
	if p := PoolChars(ja.Chars, s.Groups[1].Chars, nil); *p.TokensPerChar != *m.TokensPerChar || p.PromptChars != 110 {
		t.Errorf("PoolChars: %+v, want the model row's %+v", p, m)
	}
	if PoolChars(nil) != nil || summarize(Options{}, r4).Groups[0].Chars != nil {
		t.Error("figures without any counted characters, want nil")
	}
	// A clone owns its ratios.
	cl := ja.clone()
	*cl.Chars.TokensPerChar = 9
	if *ja.Chars.TokensPerChar == 9 {
		t.Error("clone shares Chars.TokensPerChar")
	}
}
