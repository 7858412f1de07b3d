package store

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"flperf/internal/engineseries"
	"flperf/internal/record"
	"flperf/internal/result"
)

// Failed is the status of a run that could not start (no model could be
// prepared, the engine went away): the app stores it with the reason.
const Failed result.Status = "failed"

// Statuses are the statuses a stored run may have.
var Statuses = []result.Status{result.Completed, result.Interrupted, result.Canceled, Failed, Running}

// runIDRe is what a run id may be: result.NewID's ids
// (20060102-150405-abcdef) and any other of letters, digits and '-'.
var runIDRe = regexp.MustCompile(fmt.Sprintf(`^[0-9A-Za-z-]{1,%d}$`, maxIDLen))

// ValidID reports whether id can be a run id, or the prefix of one: 1–128
// letters, digits and '-'. The app's API, BeginRun and Import check ids
// with it alike, so that every stored run can be named in a URL or a
// command line, opened and deleted.
func ValidID(id string) bool { return runIDRe.MatchString(id) }

// ErrInvalidArchive wraps Import's refusal of a document that no run could
// have produced.
var ErrInvalidArchive = errors.New("not a valid run document")

// maxArchiveProblems is how many problems of an import document are listed.
const maxArchiveProblems = 10

// checkArchive refuses an import document that no run could have produced,
// naming each offending field as the document spells it: an id the app
// could not open, an unknown run status, a negative count. (Odd outcomes,
// phases and times are data the statistics survive, and are kept.)
func checkArchive(a *Archive) error {
	var probs []string
	bad := func(field, format string, v ...any) {
		probs = append(probs, field+": "+fmt.Sprintf(format, v...))
	}
	nonNeg := func(field string, n int64) {
		if n < 0 {
			bad(field, "must be 0 or more, got %d", n)
		}
	}
	if !ValidID(a.ID) {
		bad("id", "%q is not a run id (want 1–%d letters, digits and '-')", a.ID, maxIDLen)
	}
	if !slices.Contains(Statuses, a.Status) {
		bad("status", "%q is not a run status (want one of %s)", a.Status, statusList())
	}
	c := &a.Config
	for _, f := range []struct {
		name string
		n    int
	}{{"concurrency", c.Concurrency}, {"max_in_flight", c.MaxInFlight}, {"requests", c.Requests}, {"warmup", c.Warmup}, {"max_tokens", c.MaxTokens}} {
		nonNeg("config."+f.name, int64(f.n))
	}
	nonNeg("config.duration", int64(c.Duration))
	nonNeg("config.timeout", int64(c.Timeout))
	if es := a.EngineSeries; es != nil {
		checkEngineSeries(es, bad)
	}
	for i := range a.Records {
		checkRecord(fmt.Sprintf("records[%d].", i), &a.Records[i], bad, nonNeg)
		if len(probs) > maxArchiveProblems {
			break
		}
	}
	switch n := len(probs); {
	case n == 0:
		return nil
	case n > maxArchiveProblems:
		probs = append(probs[:maxArchiveProblems], "… and more")
	}
	return fmt.Errorf("%w:\n  %s", ErrInvalidArchive, strings.Join(probs, "\n  "))
}

// checkRecord checks one imported record; prefix names it ("records[3].").
func checkRecord(prefix string, r *record.Record, bad func(field, format string, v ...any), nonNeg func(string, int64)) {
	for _, f := range []struct {
		name string
		n    int64
	}{
		{"seq", r.Seq}, {"worker", int64(r.Worker)}, {"max_tokens", int64(r.MaxTok)}, {"attempt", int64(r.Attempt)},
		{"chunk_count", int64(r.ChunkCount)}, {"reason_chunk_count", int64(r.ReasonChunk)},
		{"input_tokens", int64(r.InputTokens)}, {"output_tokens", int64(r.OutputTokens)},
		{"engine_output_tokens", int64(r.EngineOutTokens)}, {"estimated_output_tokens", int64(r.EstOutTokens)},
		{"cached_tokens", int64(r.CachedTokens)}, {"text_bytes", int64(r.TextBytes)},
		{"text_chars", int64(r.TextChars)}, {"prompt_chars", int64(r.PromptChars)}, {"turn", int64(r.Turn)},
		{"requested_input_tokens", int64(r.RequestedInputTokens)},
		{"retry_of", r.RetryOf}, {"retry_wait_ns", int64(r.RetryWait)},
	} {
		nonNeg(prefix+f.name, f.n)
	}
	if r.Attempt > 0 && r.RetryOf >= r.Seq {
		bad(prefix+"retry_of", "%d does not come before the retry's own seq %d", r.RetryOf, r.Seq)
	}
	switch r.InputLengthMethod {
	case "", "tokenizer", "calibration", "gguf", "estimate": // internal/inputlen's methods
	default:
		bad(prefix+"input_length_method", "%q is not one of tokenizer, calibration, gguf, estimate", shortText(r.InputLengthMethod))
	}
	if r.Status < 0 || r.Status > 999 {
		bad(prefix+"status", "%d is not an HTTP status (0: no response)", r.Status)
	}
	for j, ch := range r.Chunks {
		if ch.Tokens < 0 || ch.Est < 0 {
			bad(fmt.Sprintf("%schunks[%d]", prefix, j), "negative token count (tokens %d, est %d)", ch.Tokens, ch.Est)
			break
		}
	}
}

// checkEngineSeries refuses an engine series no sampler could have
// recorded: a non-positive interval, a negative figure or read time.
func checkEngineSeries(es *engineseries.Series, bad func(field, format string, v ...any)) {
	if es.IntervalMS <= 0 {
		bad("engine_series.interval_ms", "must be positive, got %d", es.IntervalMS)
	}
	for i := range es.Samples {
		s := &es.Samples[i]
		if s.TookMS < 0 {
			bad(fmt.Sprintf("engine_series.samples[%d].took_ms", i), "must be 0 or more, got %g", s.TookMS)
			return
		}
		for _, f := range s.Figures() {
			if f.Value != nil && *f.Value < 0 {
				bad(fmt.Sprintf("engine_series.samples[%d].%s", i, f.Key), "must be 0 or more, got %g", *f.Value)
				return
			}
		}
	}
}

// statusList lists Statuses for a message.
func statusList() string { return joinAll(Statuses) }

// joinAll joins string-like values with ", ".
func joinAll[S ~string](xs []S) string {
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = string(x)
	}
	return strings.Join(ss, ", ")
}

// shortText is s cut to 40 bytes, for messages.
func shortText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
