package backend

import (
	"bytes"
	"errors"
	"io"
	"time"
)

// sseReader splits a text/event-stream body into events. It stamps every
// read the moment it returns, before anything is parsed, and every line
// carries the stamp of the read that completed it.
//
// It accepts "\n" and "\r\n" line ends, "data:" with or without the space,
// ":" comments, blank keep-alives, several events per read, lines split
// across reads and lines up to maxLine bytes. Multi-line data is joined with
// "\n", up to maxLine bytes too; an event is dispatched at its blank line,
// or at a clean end of the body. Its buffers beyond freeBuffer draw on the
// shared budget (release returns them).
type sseReader struct {
	r          io.Reader
	buf        []byte
	start, end int // unconsumed bytes are buf[start:end]
	scanned    int // bytes after start known to hold no '\n'
	maxLine    int
	readAt     time.Time // when the latest read returned
	err        error     // sticky read error
	onRead     func()    // called after every read that returned data
	started    bool      // first line seen (for the byte-order mark)
	hold       holding   // what buf and data draw on the shared budget
	fail       error     // a limitError from assembling an event

	data    []byte    // data of the event being assembled
	hasData bool      // a data line was seen for it
	dataAt  time.Time // stamp of its last data line
	errType bool      // it was announced as "event: error"
}

// sseEvent is one dispatched event; data is valid until the next call.
type sseEvent struct {
	data       []byte
	at         time.Time // stamp of the read that completed its (last) data line
	errorType  bool      // "event: error"
	errorField bool      // an "error:" field line (older llama.cpp); data is its value
}

// errLineTooLong reports a line longer than the reader's limit.
var errLineTooLong = errors.New("stream line too long")

// errEventTooLong reports an event whose joined data lines are longer than
// the reader's line limit.
var errEventTooLong = errors.New("stream event too long")

// Read-buffer sizes: small to start (one per stream in flight), growing for
// long lines up to the limit, shrinking back once a long line is consumed.
const (
	sseInitBuf   = 1 << 10
	sseShrinkBuf = 64 << 10
	// DefaultMaxLine is the longest stream line accepted (64 MiB).
	DefaultMaxLine = 64 << 20
)

func newSSEReader(r io.Reader, maxLine int) *sseReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &sseReader{r: r, buf: make([]byte, min(sseInitBuf, maxLine)), maxLine: maxLine, hold: holding{b: bufferBudget}}
}

// release returns the reader's buffers to the shared budget; the reader
// must not be used after.
func (s *sseReader) release() {
	s.buf, s.data = nil, nil
	s.hold.release()
}

// limitErr describes a limit the body outgrew, or returns nil for any other
// error.
func (s *sseReader) limitErr(err error) *limitError {
	switch err {
	case errLineTooLong:
		return &limitError{"stream line longer than " + byteSize(s.maxLine)}
	case errEventTooLong:
		return &limitError{"stream event longer than " + byteSize(s.maxLine) + " (data lines never ended by a blank line)"}
	}
	le, _ := err.(*limitError)
	return le
}

// next returns the next event. At the end of the body it returns io.EOF (a
// clean end), errLineTooLong, errEventTooLong, errBudget or the read error,
// and gives its buffers back to the shared budget.
func (s *sseReader) next() (sseEvent, error) {
	ev, err := s.event()
	if err != nil {
		s.hold.release()
	}
	return ev, err
}

// event is next without the release.
func (s *sseReader) event() (sseEvent, error) {
	for {
		for {
			line, ok := s.line()
			if !ok {
				break
			}
			if ev, ok := s.process(line, s.readAt); ok {
				return ev, nil
			}
			if s.fail != nil {
				return sseEvent{}, s.fail
			}
		}
		if s.err != nil {
			if s.err != io.EOF {
				return sseEvent{}, s.err
			}
			// A clean end: the last line may lack its newline, and the
			// last event its blank line.
			if s.end-s.start >= s.maxLine {
				s.err = errLineTooLong // as if more had been read
				return sseEvent{}, s.err
			}
			if s.start < s.end {
				line := bytes.TrimSuffix(s.buf[s.start:s.end], []byte{'\r'})
				s.start, s.scanned = s.end, 0
				if ev, ok := s.process(line, s.readAt); ok {
					return ev, nil
				}
				if s.fail != nil {
					return sseEvent{}, s.fail
				}
			}
			if ev, ok := s.dispatch(); ok {
				return ev, nil
			}
			return sseEvent{}, io.EOF
		}
		s.fill()
	}
}

// line returns the next complete line without its line end.
func (s *sseReader) line() ([]byte, bool) {
	i := bytes.IndexByte(s.buf[s.start+s.scanned:s.end], '\n')
	if i < 0 {
		s.scanned = s.end - s.start
		return nil, false
	}
	i += s.start + s.scanned
	line := s.buf[s.start:i]
	s.start, s.scanned = i+1, 0
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// fill reads once more into the buffer, making room first.
func (s *sseReader) fill() {
	if s.start == s.end {
		s.start, s.end, s.scanned = 0, 0, 0
		if len(s.buf) > sseShrinkBuf {
			s.buf = make([]byte, min(sseInitBuf, s.maxLine))
			s.hold.resize(len(s.buf) + cap(s.data))
		}
	}
	if s.end == len(s.buf) {
		if s.start > 0 {
			s.end = copy(s.buf, s.buf[s.start:s.end])
			s.start = 0
		} else {
			if len(s.buf) >= s.maxLine {
				s.err = errLineTooLong
				return
			}
			n := min(2*len(s.buf), s.maxLine)
			if !s.hold.resize(n + cap(s.data)) {
				s.err = errBudget
				return
			}
			nb := make([]byte, n)
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
	}
	for empty := 0; ; empty++ {
		n, err := s.r.Read(s.buf[s.end:])
		if n > 0 || err != nil {
			s.readAt = time.Now()
		}
		if n > 0 {
			s.end += n
			if s.onRead != nil {
				s.onRead()
			}
		}
		if err != nil {
			s.err = err
			return
		}
		if n > 0 {
			return
		}
		if empty >= 100 {
			s.err = io.ErrNoProgress
			return
		}
	}
}

// process handles one line; it reports an event when the line completes one.
func (s *sseReader) process(line []byte, at time.Time) (sseEvent, bool) {
	if !s.started {
		s.started = true
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	if len(line) == 0 {
		return s.dispatch()
	}
	if line[0] == ':' {
		return sseEvent{}, false // comment, keep-alive
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if !s.hasData && cap(s.data) > sseShrinkBuf {
			s.data = nil // the previous event was long: let its buffer go
			s.hold.resize(len(s.buf))
		}
		need := len(s.data) + len(value)
		if s.hasData {
			need++
		}
		if need >= s.maxLine { // as a line: shorter than the limit
			s.fail = errEventTooLong
			return sseEvent{}, false
		}
		if need > cap(s.data) && !s.growData(need) {
			return sseEvent{}, false
		}
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		s.hasData, s.dataAt = true, at
	case "event":
		s.errType = string(value) == "error"
	case "error":
		return sseEvent{data: value, at: at, errorField: true}, true
	}
	return sseEvent{}, false
}

// growData makes room for need (< maxLine) bytes of event data within the
// budget; false sets s.fail.
func (s *sseReader) growData(need int) bool {
	n := min(max(need, 2*cap(s.data), 256), s.maxLine)
	if !s.hold.resize(len(s.buf) + n) {
		s.fail = errBudget
		return false
	}
	nd := make([]byte, len(s.data), n)
	copy(nd, s.data)
	s.data = nd
	return true
}

// dispatch ends the event being assembled. An event with empty data is
// dropped (as the SSE standard says) unless it was announced as an error.
func (s *sseReader) dispatch() (sseEvent, bool) {
	ev := sseEvent{data: s.data, at: s.dataAt, errorType: s.errType}
	ok := len(s.data) > 0 || s.errType
	if !s.hasData {
		ev.at = s.readAt
	}
	s.data, s.hasData, s.errType = s.data[:0], false, false
	return ev, ok
}
