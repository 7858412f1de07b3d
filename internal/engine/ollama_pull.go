package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ollamaMaxPullLine is the longest progress line accepted.
const ollamaMaxPullLine = 1 << 20

// ollamaPullLine is one NDJSON line of POST /api/pull.
type ollamaPullLine struct {
	Status    string          `json:"status"`
	Digest    string          `json:"digest"`
	Total     int64           `json:"total"`
	Completed int64           `json:"completed"`
	Error     json.RawMessage `json:"error"`
}

// ollamaPullState turns pull lines into an overall percentage: Σ completed
// / Σ total over distinct digests (docs/engines.md §2).
type ollamaPullState struct {
	layers          map[string]*[2]int64 // digest → total, completed
	total, complete int64
	last            float64 // percentage last reported (-1: unknown yet)
}

// percent applies a line and returns the overall percentage. It never
// goes backwards (a layer announced later lowers the true fraction; the
// bar pauses instead) and stays below 100 until the pull succeeds.
func (s *ollamaPullState) percent(l *ollamaPullLine) float64 {
	if l.Digest != "" {
		if s.layers == nil {
			s.layers = make(map[string]*[2]int64)
		}
		lay := s.layers[l.Digest]
		if lay == nil {
			lay = new([2]int64)
			s.layers[l.Digest] = lay
		}
		if l.Total > 0 && l.Total != lay[0] {
			s.total += l.Total - lay[0]
			lay[0] = l.Total
		}
		if c := min(max(l.Completed, 0), lay[0]); c > lay[1] {
			s.complete += c - lay[1]
			lay[1] = c
		}
	}
	if s.total > 0 {
		p := min(100*float64(s.complete)/float64(s.total), 99.9)
		s.last = max(s.last, p)
	}
	return s.last
}

// Download pulls a model (POST /api/pull, streamed), reporting each
// progress line: Percent is the overall fraction of bytes (negative until
// the first layer's size is known) and Status the engine's words ("pulling
// manifest", "pulling 3f1c…", "verifying sha256 digest", …). The last
// report has Done set: Percent 100 on success, Err set on failure. An
// {"error": …} line, an HTTP error or a stream that ends without "success"
// is an error carrying the engine's message. There is no timeout but ctx's.
func (o *OllamaManager) Download(ctx context.Context, id string, progress func(Progress)) error {
	return o.progressCall(ctx, "pull", id, "/api/pull", map[string]any{"model": id, "stream": true}, progress)
}

// progressCall sends a streamed management request (pull, create) and
// reports each NDJSON progress line as Download describes; op names the
// request in errors.
func (o *OllamaManager) progressCall(ctx context.Context, op, id, path string, in any, progress func(Progress)) error {
	report := func(p Progress) {
		if progress != nil {
			progress(p)
		}
	}
	fail := func(err error, pct float64) error {
		report(Progress{Percent: pct, Status: "failed", Done: true, Err: err.Error()})
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fail(fmt.Errorf("ollama: %s %q: %v", op, id, err), -1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.root+path, bytes.NewReader(body))
	if err != nil {
		return fail(fmt.Errorf("ollama: %s %q: %v", op, id, err), -1)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := o.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("ollama: %s %q: %w", op, id, context.Cause(ctx)), -1)
		}
		return fail(fmt.Errorf("ollama: %s %q: %w: %v", op, id, ErrUnreachable, err), -1)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fail(&OllamaError{Op: op, Model: id, Status: resp.StatusCode, Msg: ollamaErrorText(data, resp.Status)}, -1)
	}

	st := ollamaPullState{last: -1}
	br := bufio.NewReaderSize(resp.Body, 4<<10)
	for {
		line, err := ollamaReadLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			var l ollamaPullLine
			if jerr := json.Unmarshal(line, &l); jerr != nil {
				return fail(fmt.Errorf("ollama: %s %q: malformed progress line %q: %v", op, id, ollamaClip(string(line)), jerr), st.last)
			}
			if len(l.Error) > 0 && string(l.Error) != "null" {
				msg := cmp.Or(ollamaErrValue(l.Error), "(no details)")
				return fail(&OllamaError{Op: op, Model: id, Msg: msg}, st.last)
			}
			if l.Status == "success" {
				report(Progress{Percent: 100, Status: "success", Done: true})
				return nil
			}
			report(Progress{Percent: st.percent(&l), Status: ollamaClip(l.Status)})
		}
		switch {
		case err == io.EOF:
			return fail(fmt.Errorf("ollama: %s %q: the stream ended without \"success\"", op, id), st.last)
		case err != nil:
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			return fail(fmt.Errorf("ollama: %s %q: %w", op, id, err), st.last)
		}
	}
}

// errOllamaLongLine reports a progress line over ollamaMaxPullLine.
var errOllamaLongLine = errors.New("progress line too long")

// ollamaReadLine reads one line (without its end); at the end of the body
// it returns the last unterminated line with io.EOF.
func ollamaReadLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > ollamaMaxPullLine {
			return nil, errOllamaLongLine
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return []byte(strings.TrimRight(string(line), "\r\n")), err
	}
}
