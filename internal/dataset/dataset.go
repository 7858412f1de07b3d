// Package dataset reads prompt datasets for `flperf run --dataset`: JSONL
// files of {"prompt": ...} or {"messages": [...]} entries and ShareGPT-format
// JSON (an array of {"id", "conversations": [{"from", "value"}]}). A file is
// read whole and checked the way internal/suite checks a suite: every
// problem is collected, each named by its line, and returned at once in one
// *Error, so that nothing runs from a bad file. Filter keeps the entries of
// a chosen estimated input/output length, Sample draws a seeded sample
// without replacement, and Scenario turns the result into one suite
// scenario whose requests take successive entries.
package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// Limits on what a dataset file may hold, so that a hostile or mistaken
// file cannot exhaust memory.
const (
	// MaxFileSize is the largest dataset file read, in bytes (64 MiB).
	MaxFileSize = 64 << 20
	// MaxLineLen is the longest JSONL line, in bytes (1 MiB); a ShareGPT
	// entry may be at most this long too.
	MaxLineLen = 1 << 20
	// MaxEntries is the most entries a file may hold.
	MaxEntries = 100_000
	// MaxMessages is the most messages (or turns) one entry may hold.
	MaxMessages = 1000
	// MaxIDLen is the longest entry id, in bytes.
	MaxIDLen = 200
	// maxProblems caps the problems one Error keeps; the rest are counted.
	maxProblems = 100
)

// Formats a file may have.
const (
	FormatJSONL    = "jsonl"
	FormatShareGPT = "sharegpt"
)

// Entry is one dataset entry: the messages one request sends.
type Entry struct {
	// ID is the entry's "id" (a number is kept as its text), "" if none.
	ID string
	// Line is the 1-based line of the file the entry starts on.
	Line int
	// Messages are sent as they are; the last is a user message.
	Messages []suite.Message
	// MaxTokens is the entry's max_tokens, nil if it has none.
	MaxTokens *int
	// Reference is the estimated tokens of the reference answer (ShareGPT:
	// the gpt turn after the last human turn), -1 when there is none.
	Reference int
}

// InputTokens is the estimated tokens of the entry's messages
// (tokens.Estimate over each message's content, no chat template).
func (e *Entry) InputTokens() int {
	n := 0
	for _, m := range e.Messages {
		n += tokens.Estimate(m.Content)
	}
	return n
}

// OutputTokens is the entry's expected output length: its max_tokens when
// it has one, else its reference answer's estimated tokens, else -1
// (unknown).
func (e *Entry) OutputTokens() int {
	if e.MaxTokens != nil {
		return *e.MaxTokens
	}
	return e.Reference
}

// Dataset is a parsed dataset file.
type Dataset struct {
	Source  string  // the path (or name) it was read from
	SHA256  string  // hex sha256 of the file's bytes
	Format  string  // FormatJSONL or FormatShareGPT
	Entries []Entry // in file order
}

// Problem is one thing wrong with a dataset file.
type Problem struct {
	Line    int    // 1-based line, 0 for the file as a whole
	Field   string // the offending field, e.g. "messages[1].role"; "" for the entry
	Message string
}

// String formats the problem as "line 3: messages[0].role: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error reports every problem found in one dataset file.
type Error struct {
	Source   string
	Problems []Problem // in file order
	Omitted  int       // further problems not kept (beyond the first 100)
}

// Error lists the problems one per line, each prefixed with the source:
// `dataset "d.jsonl": line 3: max_tokens: must be an integer, got string`.
func (e *Error) Error() string {
	prefix := fmt.Sprintf("dataset %q: ", e.Source)
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, prefix+p.String())
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("%s… and %d more problems", prefix, e.Omitted))
	}
	if len(lines) == 0 {
		return prefix + "invalid"
	}
	return strings.Join(lines, "\n")
}

// problems collects the problems of one file.
type problems struct {
	list    []Problem
	omitted int
}

func (p *problems) add(line int, field, format string, a ...any) {
	if len(p.list) >= maxProblems {
		p.omitted++
		return
	}
	p.list = append(p.list, Problem{Line: line, Field: field, Message: fmt.Sprintf(format, a...)})
}

func (p *problems) err(source string) error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Source: source, Problems: p.list, Omitted: p.omitted}
}

var utf8BOM = []byte("\uFEFF")

// Parse reads a dataset document: ShareGPT JSON when its first character
// (after a byte-order mark and white space) is "[", JSONL otherwise. source
// names it in errors and becomes Dataset.Source. Every problem is reported
// at once in one *Error; on success the dataset has at least one entry.
func Parse(source string, data []byte) (*Dataset, error) {
	sum := sha256.Sum256(data)
	if len(data) > MaxFileSize {
		return nil, &Error{Source: source, Problems: []Problem{{Message: fmt.Sprintf("file is %d bytes, larger than the %d-byte limit", len(data), MaxFileSize)}}}
	}
	body := bytes.TrimPrefix(data, utf8BOM)
	d := &Dataset{Source: source, SHA256: hex.EncodeToString(sum[:])}
	var p problems
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		d.Format = FormatShareGPT
		d.Entries = parseShareGPT(body, &p)
	} else {
		d.Format = FormatJSONL
		d.Entries = parseJSONL(body, &p)
	}
	if len(p.list) == 0 && len(d.Entries) == 0 {
		p.add(0, "", "no entries")
	}
	if err := p.err(source); err != nil {
		return nil, err
	}
	return d, nil
}

// Load reads the dataset file at path (a regular file of at most
// MaxFileSize bytes) and parses it with the path as its source.
func Load(path string) (*Dataset, error) {
	data, err := suite.ReadFile("dataset", path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Name is the dataset's file name without its directory.
func (d *Dataset) Name() string {
	return filepath.Base(d.Source)
}
