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
// "\n"; an event is dispatched at its blank line, or at a clean end of the
// body.
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
	return &sseReader{r: r, buf: make([]byte, min(sseInitBuf, maxLine)), maxLine: maxLine}
}

// next returns the next event. At the end of the body it returns io.EOF (a
// clean end), errLineTooLong, or the read error.
func (s *sseReader) next() (sseEvent, error) {
	for {
		for {
			line, ok := s.line()
			if !ok {
				break
			}
			if ev, ok := s.process(line, s.readAt); ok {
				return ev, nil
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
			nb := make([]byte, min(2*len(s.buf), s.maxLine))
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
