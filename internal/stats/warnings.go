package stats

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/record"
)

// warnings returns the plain-language warnings for a group; each one says
// what it means and what to do. The text never names the group, so a
// pooled row with one member can reuse its member's warnings.
func warnings(t *tally, g *Group, opts Options) []string {
	w := []string{}
	add := func(format string, args ...any) { w = append(w, fmt.Sprintf(format, args...)) }

	if t.requests == 0 {
		if t.warmup > 0 {
			add("only %s, no measured requests: raise the request count", plural(t.warmup, "warm-up request"))
		}
		return w
	}
	failed, measured := t.failed(), t.requests-t.canceled
	switch {
	case failed > 0 && t.ok == 0:
		add("all %d requests failed (%s): there are no latency or throughput figures, which is not a fast result; check the endpoint, the model and the timeout", failed, failureBreakdown(t))
	case failed > 0:
		add("%d of %d requests failed: %s; failed requests add no latency samples, so the latency figures describe only the %d that succeeded (see error_rate)", failed, measured, failureBreakdown(t), t.ok)
	}
	if n := t.connRetries; n > 0 {
		add("%s: the server had closed a reused connection before any response byte, so the request went once more on a new connection (it had not reached the engine; llama.cpp's server, for one, closes the connection after each streamed answer); not failures, and TTFT and E2E count from the sending that got through",
			connRetries(n))
	}
	if s := retryWarning(t, g); s != "" {
		add("%s", s)
	}
	if s := inputLengthWarning(g.InputLength); s != "" {
		add("%s", s)
	}
	if t.canceled > 0 {
		add("%s canceled when the run was stopped; canceled requests are left out of the error rate and of every figure", plural(t.canceled, "request")+wasWere(t.canceled))
	}

	if n := max(g.E2E.N, g.TTFT.N); n > 0 {
		switch {
		case n < MinSamplesP95:
			add("p95 and p99 from %d samples are close to the max; run ≥ %d requests for a stable p95, ≥ %d for p99", n, MinSamplesP95, MinSamplesP99)
		case n < MinSamplesP99:
			add("p99 from %d samples is close to the max; run ≥ %d requests for a stable p99", n, MinSamplesP99)
		}
	}
	if t.short > 0 {
		add("%d of %d ok responses were short (stopped before %s%% of max_tokens): output throughput is not comparable with models that write to the limit; fix the output length (ignore_eos or min_tokens) or compare decode rate instead",
			t.short, t.ok, strconv.FormatFloat(opts.ShortFraction*100, 'g', 4, 64))
	}

	var kinds []string
	for i, src := range outSources {
		if t.sources[i] > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", t.sources[i], src))
		}
	}
	if len(kinds) > 1 {
		add("output token counts come from mixed sources (%s): token rates mix exact and approximate counts; compare them only with runs that use the same source", strings.Join(kinds, ", "))
	}
	if n := t.sources[3]; n > 0 {
		add("output token counts of %d of %d ok requests are approximate: counted chunks, not tokens (the server sent no usage); token rates and TPOT can be off by the tokens-per-chunk factor, so enable usage reporting on the server", n, t.ok)
	}
	if n := t.sources[2]; n > 0 {
		add("output token counts of %d of %d ok requests are approximate: estimated from text (the server sent no usage or engine count); treat token rates as approximate", n, t.ok)
	}
	if t.noSource > 0 {
		add("%d of %d ok requests carry no output token count; they add nothing to token throughput", t.noSource, t.ok)
	}
	if t.disagree > 0 {
		add("usage and engine output token counts differ by more than %g%% on %d of %d requests (largest: usage %d vs engine %d, %.1f%%); check which counter the engine reports before trusting token rates",
			DisagreeFraction*100, t.disagree, t.checked, t.worst.usage, t.worst.engine, t.worst.rel*100)
	}
	if t.impossible > 0 {
		c := t.worstClaim
		add("%d of %d ok requests report more output tokens than their text can hold (largest: %s %d for %d bytes of text; a token is at least one byte, so at most %d): those counts were not used, their figures use the next source (engine count, estimate); check the server's token counting, or whether it withholds text such as reasoning or tool calls",
			t.impossible, t.ok, c.source, c.count, c.textBytes, record.MaxOutTokens(c.textBytes))
	}
	if t.ok > 0 && g.TTFT.N == 0 {
		add("no TTFT: none of the %d ok requests streamed a token; enable streaming to measure TTFT, TPOT and ITL", t.ok)
	}
	if t.oneEvent > 0 {
		add("%s delivered all tokens in one stream event, so they have no TPOT or decode rate (the server or a proxy buffers the stream)", plural(t.oneEvent, "ok request"))
	}
	for i, name := range []string{"TTFT", "TPOT", "E2E"} {
		if n := t.sloMissing[i]; n > 0 {
			add("goodput: %s had no %s measurement and%s not counted as good; stream the requests (and let them produce ≥ 2 tokens) to measure it", plural(n, "ok request"), name, wasWere(n))
		}
	}
	return w
}

// failureBreakdown describes the failures by class, e.g.
// "2 timeout (before the first token), 1 http_error (HTTP 500)".
func failureBreakdown(t *tally) string {
	var parts []string
	for i, c := range failClasses {
		n := t.fail[i]
		if n == 0 {
			continue
		}
		var details map[string]int
		switch c {
		case record.HTTPError:
			details = map[string]int{}
			for status, k := range t.httpStatus {
				label := "no status"
				if status != 0 {
					label = "HTTP " + strconv.Itoa(status)
				}
				details[label] += k
			}
		case record.Timeout:
			details = map[string]int{}
			for phase, k := range t.timeoutPhase {
				details[phaseLabel(phase)] += k
			}
		}
		parts = append(parts, fmt.Sprintf("%d %s%s", n, c, detailList(details, n)))
	}
	return strings.Join(parts, ", ")
}

// detailList formats a breakdown of total: " (label)" when one label covers
// everything, else " (n label, m label, …)", largest first, at most five.
func detailList(details map[string]int, total int) string {
	if len(details) == 0 {
		return ""
	}
	type kv struct {
		label string
		n     int
	}
	var list []kv
	for l, n := range details {
		list = append(list, kv{l, n})
	}
	slices.SortFunc(list, func(a, b kv) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.label, b.label))
	})
	if len(list) == 1 && list[0].n == total {
		return " (" + list[0].label + ")"
	}
	const most = 5
	var s []string
	for i, e := range list {
		if i == most {
			s = append(s, fmt.Sprintf("%d more", len(list)-most))
			break
		}
		s = append(s, fmt.Sprintf("%d %s", e.n, e.label))
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// phaseLabel says in words where a request timed out.
func phaseLabel(p record.Phase) string {
	switch p {
	case record.PhaseConnect:
		return "while connecting"
	case record.PhaseHeaders:
		return "waiting for headers"
	case record.PhaseFirstToken:
		return "before the first token"
	case record.PhaseStream:
		return "mid-stream"
	}
	return "in phase " + strconv.Quote(string(p))
}

// plural writes n and noun, adding "s" unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// connRetries names n connection retries.
func connRetries(n int) string {
	if n == 1 {
		return "1 connection retry"
	}
	return strconv.Itoa(n) + " connection retries"
}

// wasWere returns " was" for 1 and " were" otherwise.
func wasWere(n int) string {
	if n == 1 {
		return " was"
	}
	return " were"
}
