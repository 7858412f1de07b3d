package original

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Bounds on what an import reads (docs/legacy.md): the original wrote at
// most 100 iterations per scenario and nine scenarios per suite.
const (
	MaxJSONBytes      = 256 << 20 // storage.json or an export
	MaxDBBytes        = 1 << 30   // benchmarks.db
	MaxRuns           = 100_000
	MaxResultsPerRun  = 10_000
	MaxIterations     = 10_000 // per result row
	maxString         = 4096   // ids, names, aliases
	maxErrorText      = 1024   // an iteration's error message is cut here
	maxHardwareBytes  = 16 << 10
	maxTimeMs         = 4102444800000 // 2100-01-01
	errorTextEllipsis = "…"
)

// FieldError is a malformed field of the original's file: Path names it
// (e.g. benchmark_runs["r1"].started_at, or a SQLite row and column).
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// object is one JSON object of the file, with its path for errors.
type object struct {
	path string
	m    map[string]json.RawMessage
}

// newObject decodes raw as an object; what says where it is.
func newObject(path string, raw json.RawMessage) (object, error) {
	o := object{path: path}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return o, &FieldError{path, "want an object, got " + kindOf(raw)}
	}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		return o, &FieldError{path, "not a JSON object: " + err.Error()}
	}
	return o, nil
}

func (o object) at(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// raw is the field's value; nil for a missing field or null.
func (o object) raw(key string) json.RawMessage {
	v := bytes.TrimSpace(o.m[key])
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// str reads a string field ("" when missing or null); required refuses
// both.
func (o object) str(key string, required bool) (string, error) {
	v := o.raw(key)
	if v == nil {
		if required {
			return "", &FieldError{o.at(key), "missing"}
		}
		return "", nil
	}
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", &FieldError{o.at(key), "want a string, got " + kindOf(v)}
	}
	if len(s) > maxString {
		return "", &FieldError{o.at(key), fmt.Sprintf("longer than %d bytes", maxString)}
	}
	if required && s == "" {
		return "", &FieldError{o.at(key), "empty"}
	}
	if !utf8.ValidString(s) {
		return "", &FieldError{o.at(key), "not valid UTF-8"}
	}
	return s, nil
}

// num reads a number field; nil when missing or null.
func (o object) num(key string) (*float64, error) {
	return number(o.at(key), o.raw(key))
}

func number(path string, v json.RawMessage) (*float64, error) {
	if v == nil || string(v) == "null" {
		return nil, nil
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return nil, &FieldError{path, "want a number, got " + kindOf(v)}
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &FieldError{path, "want a finite number, got " + clip(string(v))}
	}
	return &f, nil
}

// count reads a non-negative whole number field; nil when missing.
func (o object) count(key string) (*int, error) {
	f, err := o.num(key)
	if err != nil || f == nil {
		return nil, err
	}
	if *f < 0 || *f != math.Trunc(*f) || *f > 1e12 {
		return nil, &FieldError{o.at(key), "want a whole number ≥ 0, got " + strconv.FormatFloat(*f, 'g', -1, 64)}
	}
	n := int(*f)
	return &n, nil
}

// millis reads a unix time in milliseconds; nil when missing.
func (o object) millis(key string) (*int64, error) {
	f, err := o.num(key)
	if err != nil || f == nil {
		return nil, err
	}
	if *f < 0 || *f > maxTimeMs {
		return nil, &FieldError{o.at(key), "want unix milliseconds between 1970 and 2100, got " + strconv.FormatFloat(*f, 'f', -1, 64)}
	}
	ms := int64(*f)
	return &ms, nil
}

// boolean reads a true/false field; nil when missing.
func (o object) boolean(key string) (*bool, error) {
	v := o.raw(key)
	if v == nil {
		return nil, nil
	}
	switch string(v) {
	case "true", "false":
		b := string(v) == "true"
		return &b, nil
	}
	return nil, &FieldError{o.at(key), "want true or false, got " + kindOf(v)}
}

// array reads an array field as its elements; nil when missing.
func (o object) array(key string, max int) ([]json.RawMessage, error) {
	v := o.raw(key)
	if v == nil {
		return nil, nil
	}
	if v[0] != '[' {
		return nil, &FieldError{o.at(key), "want an array, got " + kindOf(v)}
	}
	var a []json.RawMessage
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, &FieldError{o.at(key), err.Error()}
	}
	if len(a) > max {
		return nil, &FieldError{o.at(key), fmt.Sprintf("%d elements, more than the %d an import reads", len(a), max)}
	}
	return a, nil
}

// kindOf names a JSON value's type for an error message.
func kindOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "the string " + clip(string(v))
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return clip(string(v))
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

// lineCol turns a byte offset of data into "line L, column C" (1-based).
func lineCol(data []byte, off int64) string {
	if off < 0 || off > int64(len(data)) {
		return fmt.Sprintf("byte %d", off)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}
