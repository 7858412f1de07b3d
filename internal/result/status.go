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

// NewID returns a new run id: sortable by time, and unique across
// machines (runs pushed from many to one team server keep their ids): the
// UTC second and 8 random bytes, 20060102-150405-0123456789abcdef. Runs
// stored before had 3 random bytes; every id of letters, digits and '-'
// stays valid (store.ValidID).
func NewID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
