package stats

import (
	"flperf/internal/record"
)

// CharFigures are what a group's text costs in tokens per character, from
// the server's own token counts (usage or the engine's; never the client's
// estimate) over the ok records that counted their characters
// (docs/metrics.md §3): a tokenizer that splits a language finely shows
// more tokens per character, and fewer characters per second at the same
// tokens per second. Sums are kept so that rows pool exactly.
type CharFigures struct {
	OutputChars  int64 `json:"output_chars"`  // Σ generated characters (Record.TextChars) of ok records with a server output count
	OutputTokens int64 `json:"output_tokens"` // Σ their output tokens
	PromptChars  int64 `json:"prompt_chars"`  // Σ prompt characters (Record.PromptChars) of ok records with a server input count
	InputTokens  int64 `json:"input_tokens"`  // Σ their input tokens
	// TokensPerChar is OutputTokens ÷ OutputChars; nil without characters.
	TokensPerChar *float64 `json:"tokens_per_char"`
	// InputTokensPerChar is InputTokens ÷ PromptChars; nil without a
	// server input count. The input tokens include the chat template's.
	InputTokensPerChar *float64 `json:"input_tokens_per_char"`
}

// charTally sums the characters of a group's ok records and the server's
// token counts of the same records.
type charTally struct {
	outChars, outTokens   int64
	promptChars, inTokens int64
}

// add counts an ok record whose output count is out (reported: the
// server's) and returns its characters per second of decode, NaN when
// unknown: its generated characters over t_last − t_first of the attempt.
func (c *charTally) add(r *record.Record, out int, reported bool) float64 {
	if r.TextChars > 0 && reported {
		c.outChars += int64(r.TextChars)
		c.outTokens += int64(out)
	}
	if r.PromptChars > 0 && r.InputTokens >= 0 && (r.InputSource == record.SourceUsage || r.InputSource == record.SourceEngine) {
		c.promptChars += int64(r.PromptChars)
		c.inTokens += int64(r.InputTokens)
	}
	if r.TextChars > 0 && r.FirstToken > 0 && r.LastToken > r.FirstToken {
		return float64(r.TextChars) / (r.LastToken - r.FirstToken).Seconds()
	}
	return nan
}

// figures returns c as CharFigures; nil when no record counted characters.
func (c charTally) figures() *CharFigures {
	if c.outChars == 0 && c.promptChars == 0 {
		return nil
	}
	f := &CharFigures{OutputChars: c.outChars, OutputTokens: c.outTokens, PromptChars: c.promptChars, InputTokens: c.inTokens}
	f.TokensPerChar, f.InputTokensPerChar = ratio(c.outTokens, c.outChars), ratio(c.inTokens, c.promptChars)
	return f
}

// ratio is a ÷ b, nil when b is 0.
func ratio(a, b int64) *float64 {
	if b <= 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

// PoolChars returns the figures of rows pooled: the sums added, the ratios of
// the sums (nil when none has figures).
func PoolChars(fs ...*CharFigures) *CharFigures {
	var c charTally
	for _, f := range fs {
		if f != nil {
			c.outChars += f.OutputChars
			c.outTokens += f.OutputTokens
			c.promptChars += f.PromptChars
			c.inTokens += f.InputTokens
		}
	}
	return c.figures()
}

// clonePtr returns a copy of *p in a new variable (nil for nil).
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// LanguageRow pools the groups of one model (× stage) whose scenarios are
// written in one language (docs/metrics.md §5).
type LanguageRow struct {
	Model     string `json:"model"`
	Language  string `json:"language"` // BCP 47 tag
	Stage     string `json:"stage,omitempty"`
	Scenarios int    `json:"scenarios"` // groups pooled
	OK        int    `json:"ok"`
	// CharsPerS is the mean of the pooled groups' chars_per_s samples
	// (each group's mean weighted by its sample count), with that count;
	// DecodeTPS likewise of decode_tps. nil without samples.
	CharsPerS *float64     `json:"chars_per_s_mean"`
	CharsN    int          `json:"chars_per_s_n"`
	DecodeTPS *float64     `json:"decode_tps_mean"`
	DecodeN   int          `json:"decode_tps_n"`
	Chars     *CharFigures `json:"chars"` // sums pooled, ratios of the sums
}

// LanguageRows pools groups by model, stage and the language langs gives
// their scenario (scenario name → BCP 47 tag), in the order each row's
// first group comes; groups whose scenario has no language are left out.
func LanguageRows(groups []Group, langs map[string]string) []LanguageRow {
	type key struct{ model, lang, stage string }
	index := map[key]int{}
	var rows []LanguageRow
	type sums struct{ chars, decode float64 }
	var acc []sums
	var figs [][]*CharFigures
	for i := range groups {
		g := &groups[i]
		lang, ok := langs[g.Scenario]
		if !ok || lang == "" {
			continue
		}
		k := key{g.Model, lang, g.Stage}
		j, seen := index[k]
		if !seen {
			j = len(rows)
			index[k] = j
			rows = append(rows, LanguageRow{Model: g.Model, Language: lang, Stage: g.Stage})
			acc = append(acc, sums{})
			figs = append(figs, nil)
		}
		r := &rows[j]
		r.Scenarios++
		r.OK += g.OK
		if g.CharsPerS.N > 0 {
			r.CharsN += g.CharsPerS.N
			acc[j].chars += g.CharsPerS.Mean * float64(g.CharsPerS.N)
		}
		if g.DecodeTPS.N > 0 {
			r.DecodeN += g.DecodeTPS.N
			acc[j].decode += g.DecodeTPS.Mean * float64(g.DecodeTPS.N)
		}
		figs[j] = append(figs[j], g.Chars)
	}
	for j := range rows {
		r := &rows[j]
		if r.CharsN > 0 {
			v := acc[j].chars / float64(r.CharsN)
			r.CharsPerS = &v
		}
		if r.DecodeN > 0 {
			v := acc[j].decode / float64(r.DecodeN)
			r.DecodeTPS = &v
		}
		r.Chars = PoolChars(figs[j]...)
	}
	return rows
}
