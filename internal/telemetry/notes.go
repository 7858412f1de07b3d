package telemetry

import (
	"fmt"
	"slices"
	"sync"
)

// maxNotes bounds the notes one Series keeps.
const maxNotes = 64

// noteLog collects notes from the sampler's goroutines, each text once.
type noteLog struct {
	mu    sync.Mutex
	notes []string
}

// addf records a note unless the same text is already there.
func (l *noteLog) addf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) >= maxNotes || slices.Contains(l.notes, s) {
		return
	}
	l.notes = append(l.notes, s)
}

// list returns a copy of the notes (never nil).
func (l *noteLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.notes...)
}
