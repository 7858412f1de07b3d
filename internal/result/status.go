package result

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Status says how a run ended.
type Status string

// Run statuses.
const (
	Completed   Status = "completed"   // every planned request was attempted
	Interrupted Status = "interrupted" // the user stopped scheduling; in-flight requests finished
	Canceled    Status = "canceled"    // the user cancelled in-flight requests too
)

// NewID returns a new run id: sortable by time, unique.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
