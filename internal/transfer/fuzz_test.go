package transfer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadLine feeds arbitrary answers to the pull's line reader: it
// never panics, never returns a line over its limit, and the lines it
// returns, each with its newline, are the input's start.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("{\"id\":\"x\"}\n{\"seq\":0}\n"), 64)
	f.Add([]byte("no newline at the end"), 8)
	f.Add([]byte("\n\n\n"), 1)
	f.Add(bytes.Repeat([]byte("a"), 5000), 4096)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		if limit < 1 || limit > 1<<16 {
			return
		}
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		var got []byte
		for {
			line, err := readLine(br, limit)
			if errors.Is(err, io.EOF) {
				if !bytes.Equal(got, in) {
					t.Fatalf("lines %q do not make up the input %q", got, in)
				}
				return
			}
			if err != nil {
				return // cut or too long: refused
			}
			if len(line) > limit {
				t.Fatalf("a line of %d bytes over the %d limit", len(line), limit)
			}
			got = append(append(got, line...), '\n')
			if !bytes.HasPrefix(in, got) {
				t.Fatalf("lines %q are not the input's start %q", got, in)
			}
		}
	})
}
