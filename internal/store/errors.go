package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned (wrapped) when no run has the given id or prefix.
var ErrNotFound = errors.New("no such run")

// AmbiguousError is returned by Resolve when a prefix names several runs.
type AmbiguousError struct {
	Prefix     string
	Candidates []string // some of the matching ids, sorted
	More       bool     // more runs match than Candidates lists
}

// Error lists the candidates.
func (e *AmbiguousError) Error() string {
	more := ""
	if e.More {
		more = ", …"
	}
	return fmt.Sprintf("run prefix %q is ambiguous: it matches %s%s; give more characters", e.Prefix, strings.Join(e.Candidates, ", "), more)
}

// Primary SQLite result codes this package explains (sqlite.org/rescode.html).
const (
	codePerm       = 3
	codeBusy       = 5
	codeLocked     = 6
	codeReadOnly   = 8
	codeIOErr      = 10
	codeCorrupt    = 11
	codeFull       = 13
	codeCantOpen   = 14
	codeConstraint = 19
	codeNotADB     = 26
)

// sqliteCode returns the primary SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var c interface{ Code() int }
	if errors.As(err, &c) {
		return c.Code() & 0xff
	}
	return 0
}

// explain wraps a SQLite error with what it means for the database at path,
// in words a user can act on. Other errors are wrapped with what was being
// done.
func explain(path, doing string, err error) error {
	if err == nil {
		return nil
	}
	var hint string
	switch sqliteCode(err) {
	case codeFull:
		hint = "database or disk is full: free some space (or prune old runs: flperf prune)"
	case codeReadOnly, codePerm:
		hint = "the database or its directory is read-only: check the permissions, or pass --db with a writable path"
	case codeCantOpen:
		hint = "cannot open the database file: check that the directory exists and is writable"
	case codeCorrupt, codeNotADB:
		hint = "the file is damaged or is not an flperf database; move it aside (a backup may help) or pass --db with another path"
	case codeBusy, codeLocked:
		hint = "the database stayed locked by another process for too long"
	case codeIOErr:
		hint = "an I/O error occurred reading or writing the file"
	}
	if hint == "" {
		return fmt.Errorf("database %s: %s: %w", path, doing, err)
	}
	return fmt.Errorf("database %s: %s: %s (%w)", path, doing, hint, err)
}
