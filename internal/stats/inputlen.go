package stats

import (
	"fmt"
	"math"

	"flperf/internal/record"
)

// InputLengthMaxDiff is the relative difference between the measured and
// the requested input tokens of a group above which a warning is raised
// (README: Input lengths).
const InputLengthMaxDiff = 0.01

// InputLengthFigures compare, over a group's ok requests that asked for an
// input length (record.RequestedInputTokens), the length asked for with
// the engine's own count of what it received (usage or its native count;
// never the client's estimate). Sums are kept so that rows pool exactly.
type InputLengthFigures struct {
	N          int   `json:"n"`                // ok requests with a requested length and the engine's count
	Unmeasured int   `json:"unmeasured"`       // ok requests with a requested length the engine did not count
	Requested  int64 `json:"requested_tokens"` // Σ requested input tokens of the N
	Measured   int64 `json:"measured_tokens"`  // Σ the engine's input tokens of the N
	Off        int   `json:"off"`              // of the N, requests whose count differs from the request by more than InputLengthMaxDiff
	// RequestedMean and MeasuredMean are the sums over N; Diff is
	// (Measured − Requested) ÷ Requested. nil when N is 0.
	RequestedMean *float64 `json:"requested_mean"`
	MeasuredMean  *float64 `json:"measured_mean"`
	Diff          *float64 `json:"difference"`
}

// inputLenTally sums the requested and measured input lengths of a group.
type inputLenTally struct {
	n, unmeasured, off  int
	requested, measured int64
}

// add counts an ok record.
func (c *inputLenTally) add(r *record.Record) {
	if r.RequestedInputTokens <= 0 {
		return
	}
	if !reported(r.InputSource) {
		c.unmeasured++
		return
	}
	c.n++
	c.requested += int64(r.RequestedInputTokens)
	c.measured += int64(r.InputTokens)
	if math.Abs(float64(r.InputTokens-r.RequestedInputTokens)) > InputLengthMaxDiff*float64(r.RequestedInputTokens) {
		c.off++
	}
}

// merge adds o to c.
func (c *inputLenTally) merge(o inputLenTally) {
	c.n += o.n
	c.unmeasured += o.unmeasured
	c.off += o.off
	c.requested += o.requested
	c.measured += o.measured
}

// figures returns c as InputLengthFigures; nil when no request asked for a
// length.
func (c inputLenTally) figures() *InputLengthFigures {
	if c.n == 0 && c.unmeasured == 0 {
		return nil
	}
	f := &InputLengthFigures{N: c.n, Unmeasured: c.unmeasured, Requested: c.requested, Measured: c.measured, Off: c.off}
	if c.n > 0 {
		rm, mm := float64(c.requested)/float64(c.n), float64(c.measured)/float64(c.n)
		d := float64(c.measured-c.requested) / float64(c.requested)
		f.RequestedMean, f.MeasuredMean, f.Diff = &rm, &mm, &d
	}
	return f
}

// inputLengthWarning is the group's warning about its input lengths, "" when
// there is none to give.
func inputLengthWarning(f *InputLengthFigures) string {
	switch {
	case f == nil:
		return ""
	case f.Diff != nil && math.Abs(*f.Diff) > InputLengthMaxDiff:
		return fmt.Sprintf("input length: the engine counted %.1f input tokens per request where %.1f were asked for (%+.1f %%; %d of %d requests more than %g %% off): the prompts are not the length the scenario asked for, so figures against input length describe other lengths; see input_length_method in the records",
			*f.MeasuredMean, *f.RequestedMean, 100**f.Diff, f.Off, f.N, 100*InputLengthMaxDiff)
	case f.N == 0:
		return fmt.Sprintf("input length: the engine reported no input token count for the %d requests that asked for an input length: whether they had it is not known", f.Unmeasured)
	}
	return ""
}
