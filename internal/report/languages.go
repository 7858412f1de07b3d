package report

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// languagesBlock writes the per-language figures of a run whose scenarios
// carry a language (suite.Scenario.Language): what each language's text
// costs in tokens and how fast its characters come (docs/metrics.md §5).
func languagesBlock(ew *errWriter, r *runner.Result) {
	rows := stats.LanguageRows(r.Groups, r.Suite.Languages)
	if len(rows) == 0 {
		return
	}
	stage := false
	for _, l := range rows {
		stage = stage || l.Stage != ""
	}
	ew.printf("\nPer language (each language's scenarios pooled; means over ok requests)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "MODEL\tLANGUAGE\t"
	if stage {
		head += "LOAD\t"
	}
	fmt.Fprintln(tw, head+"SCENARIOS\tOK\tOUT tok/char\tIN tok/char\tCHARS/s\tDECODE tok/s\t")
	for _, l := range rows {
		row := ModelName(l.Model) + "\t" + l.Language + "\t"
		if stage {
			row += l.Stage + "\t"
		}
		var out, in *float64
		if l.Chars != nil {
			out, in = l.Chars.TokensPerChar, l.Chars.InputTokensPerChar
		}
		fmt.Fprintf(tw, "%s%d\t%d\t%s\t%s\t%s\t%s\t\n", row, l.Scenarios, l.OK, ratio3(out), ratio3(in), optNum(l.CharsPerS), optNum(l.DecodeTPS))
	}
	tw.Flush()
	ew.printf("  (tok/char: the server's tokens ÷ characters of the answer (OUT) and of the prompt (IN, chat template's tokens included);\n")
	ew.printf("   CHARS/s: answer characters ÷ (t_last − t_first): what a reader of that language gets per second)\n")
}

// ratio3 formats a ratio to three decimals; "–" when unknown.
func ratio3(v *float64) string {
	if v == nil || !finiteF(*v) {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}
