package report

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"flperf/internal/runner"
)

// contextFit prints the stages a model's context window skipped, stopped
// or put a warning on: the prompt's tokens and how they were counted,
// max_tokens and the window. The reasons are among the warnings.
func contextFit(ew *errWriter, r *runner.Result) {
	if len(r.Suite.ContextFit) == 0 {
		return
	}
	ew.printf("\nContext window (prompt tokens: exact = the engine's tokenizer, estimate = flperf's, engine = its refusal)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tSCENARIO\tSTAGE\tPROMPT\tMAX_TOKENS\tCONTEXT\tCOUNTED")
	for _, f := range r.Suite.ContextFit {
		action := f.Action
		if f.Action == runner.FitStopped {
			action = fmt.Sprintf("stopped after %d", f.Requests)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", ModelName(f.Model), f.Scenario, action, tokenCount(f.PromptTokens), tokenCount(f.MaxTokens), tokenCount(f.ContextLength), f.Method)
	}
	tw.Flush() // errors are the errWriter's
}

// tokenCount writes a token count, "–" when unknown.
func tokenCount(n int) string {
	if n <= 0 {
		return "–"
	}
	return strconv.Itoa(n)
}
