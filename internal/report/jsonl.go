package report

import (
	"bufio"
	"encoding/json"
	"io"

	"flperf/internal/record"
)

// JSONL is a runner.Sink that writes one JSON object per request record, one
// per line, as records complete: each line is written out as soon as it is
// encoded, so a reader of a pipe sees records live and a killed process
// loses none it had printed. Close flushes but does not close w.
type JSONL struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewJSONL returns a JSONL sink writing to w.
func NewJSONL(w io.Writer) *JSONL {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONL{bw: bw, enc: enc}
}

// Add writes one record.
func (j *JSONL) Add(r *record.Record) error {
	if err := j.enc.Encode(r); err != nil {
		return err
	}
	return j.bw.Flush()
}

// Close flushes buffered lines.
func (j *JSONL) Close() error { return j.bw.Flush() }
