package suite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Parse decodes and validates a suite document. source names it in errors
// (a file path, "builtin:default", …) and becomes Suite.Source.
//
// Parsing is strict: unknown fields, wrong types, out-of-range values and
// duplicate keys or scenario names are all errors, and every problem found
// is reported at once in one *ValidationError. The original FLPerformance
// format loads unchanged. On success every scenario has a Category and
// empty lists are nil.
func Parse(source string, data []byte) (*Suite, error) {
	fail := func(format string, args ...any) error {
		return &ValidationError{Source: source, Problems: []Problem{{Message: fmt.Sprintf(format, args...)}}}
	}
	if len(data) > MaxFileSize {
		return nil, fail("document is %d bytes, larger than the %d-byte limit", len(data), MaxFileSize)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	top, err := decodeTop(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	if k := jsonKind(top); k != "object" {
		return nil, fail("the document must be a JSON object, got %s", k)
	}
	c := &checker{}
	s := c.decodeSuite(top)
	if err := c.err(source); err != nil {
		return nil, err
	}
	for i := range s.Scenarios {
		if sc := &s.Scenarios[i]; sc.Category == "" {
			sc.Category = Category(sc.Name)
		}
	}
	s.Source = source
	return s, nil
}

// Load reads the suite file at path (at most MaxFileSize bytes, a regular
// file) and parses it with the path as its source.
func Load(path string) (*Suite, error) {
	data, err := ReadFile("suite", path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ReadFile reads the file at path, refusing anything but a regular file of
// at most max bytes; errors name the file as a what ("suite", "dataset").
// It stats before opening, so that a FIFO or device is refused without
// blocking on open, and reads at most max+1 bytes whatever the file grew to.
func ReadFile(what, path string, max int64) ([]byte, error) {
	fail := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s file %q: %w", what, path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fail(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fail(errors.New("not a regular file"))
	}
	if fi.Size() > max {
		return nil, fail(fmt.Errorf("file is %d bytes, larger than the %d-byte limit", fi.Size(), max))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fail(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fail(err)
	}
	if int64(len(data)) > max {
		return nil, fail(fmt.Errorf("file is larger than the %d-byte limit", max))
	}
	return data, nil
}
