package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Push limits: a server holds at most MaxPushSessions unfinished pushes,
// a pushed run has at most MaxPushRecords records, a session with no
// chunk for PushIdle may be replaced by a push of other content, and one
// with no chunk for PushExpiry is dropped when another push begins.
const (
	MaxPushSessions = 64
	MaxPushRecords  = 50_000_000
	PushIdle        = time.Hour
	PushExpiry      = 7 * 24 * time.Hour
)

// PushOrigin says where a pushed or pulled run came from.
type PushOrigin struct {
	Via    string    `json:"via"`              // "push" (received here) or "pull" (fetched from Remote)
	Host   string    `json:"host,omitempty"`   // the pushing machine's host name, as it said
	User   string    `json:"user,omitempty"`   // who pushed it, as the server's authorization knows them
	Remote string    `json:"remote,omitempty"` // the pusher's network address, or the server pulled from
	Tool   string    `json:"tool,omitempty"`   // the flperf version that sent it
	At     time.Time `json:"at"`               // when the whole run was stored here
}

// PushState is where a push stands.
type PushState struct {
	ID       string      `json:"id"`
	State    string      `json:"state"`    // PushReceiving or PushStored
	Received int64       `json:"received"` // records this server holds, from the first
	Total    int64       `json:"total"`    // records announced
	Digest   string      `json:"digest"`
	Origin   *PushOrigin `json:"origin,omitempty"` // when stored: where the run came from
}

// Push states.
const (
	PushReceiving = "receiving" // records are arriving; the run is not visible
	PushStored    = "stored"    // the run is stored whole
)

// PushErrorKind classifies a refused push step.
type PushErrorKind int

// Push error kinds.
const (
	PushInvalid    PushErrorKind = iota + 1 // content no run could have
	PushConflict                            // the id is taken by other content
	PushIncomplete                          // commit before every record arrived
	PushGap                                 // a chunk beyond the records received
	PushBusy                                // too many pushes in progress
	PushNoSession                           // no push of that run in progress
	PushMismatch                            // the content does not match its digest
)

// PushError is a refused push step. State, when set, is where the push
// stands (the records received, for a resume).
type PushError struct {
	Kind  PushErrorKind
	State *PushState
	Msg   string
}

// Error returns the message.
func (e *PushError) Error() string { return e.Msg }

func pushErrorf(kind PushErrorKind, st *PushState, format string, a ...any) *PushError {
	return &PushError{Kind: kind, State: st, Msg: fmt.Sprintf(format, a...)}
}

// PushBegin opens a push: the run's header (PushHeader's bytes), its
// record count and content digest, and where it comes from.
type PushBegin struct {
	Header []byte
	Total  int64
	Digest string
	Origin PushOrigin
}

// BeginPush opens or resumes the push of a run. A run already stored with
// the same digest answers PushStored (a push twice stores it once); with
// another digest, a PushConflict. A push of the same content in progress
// is resumed (Received says from where); of other content, a PushConflict
// unless it has been idle for PushIdle, when it is replaced.
func (db *DB) BeginPush(ctx context.Context, b PushBegin) (*PushState, error) {
	return db.beginPush(ctx, b, false)
}

// beginPush is BeginPush; again is true when it begins again after a
// concurrent begin of the same run took the session's place.
func (db *DB) beginPush(ctx context.Context, b PushBegin, again bool) (*PushState, error) {
	a, err := DecodePushHeader(b.Header)
	if err != nil {
		return nil, err
	}
	if !validDigest(b.Digest) {
		return nil, pushErrorf(PushInvalid, nil, "digest: want %s and 64 lower-case hex digits, got %q", DigestPrefix, b.Digest)
	}
	if b.Total < 0 || b.Total > MaxPushRecords {
		return nil, pushErrorf(PushInvalid, nil, "records: must be from 0 to %d, got %d", MaxPushRecords, b.Total)
	}
	if st, err := db.storedPush(ctx, a.ID, b.Digest); st != nil || err != nil {
		return st, err
	}
	origin, err := json.Marshal(b.Origin)
	if err != nil {
		return nil, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	}
	defer tx.Rollback()
	if err := db.lockPushBegins(ctx, tx); err != nil { // before any row lock: no begin waits on another holding one
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	}
	now := time.Now()
	st := &PushState{ID: a.ID, State: PushReceiving, Total: b.Total, Digest: b.Digest}
	var digest string
	var updated int64
	// The session's row, if any, is locked first: a commit of the run in
	// progress is waited for, and the run it stored is seen next.
	err = tx.QueryRowContext(ctx, "SELECT digest, total, received, updated FROM push_sessions WHERE run_id = ?"+db.forUpdate(), a.ID).Scan(&digest, &st.Total, &st.Received, &updated)
	if runExists(ctx, tx, a.ID) == nil { // stored meanwhile by another push
		tx.Rollback()
		return db.storedPush(ctx, a.ID, b.Digest)
	}
	switch {
	case err == nil && digest == b.Digest:
		return st, nil // resume
	case err == nil && now.Sub(time.Unix(0, updated)) < PushIdle:
		return nil, pushErrorf(PushConflict, nil, "another push of run %s, with other content (digest %s), is in progress (last chunk %s); it can be replaced once idle for %s",
			a.ID, digest, time.Unix(0, updated).UTC().Format(time.RFC3339), PushIdle)
	case err == nil:
		if _, err := tx.ExecContext(ctx, "DELETE FROM push_sessions WHERE run_id = ?", a.ID); err != nil {
			return nil, explain(db.path, "replacing an idle push of run "+a.ID, err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	}
	st.Total, st.Received = b.Total, 0
	// Sessions abandoned for PushExpiry go, so that they never hold the
	// places of live ones.
	if _, err := tx.ExecContext(ctx, "DELETE FROM push_sessions WHERE updated < ?", now.Add(-PushExpiry).UnixNano()); err != nil {
		return nil, explain(db.path, "dropping abandoned pushes", err)
	}
	var open int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM push_sessions").Scan(&open); err != nil {
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	}
	if open >= MaxPushSessions {
		return nil, pushErrorf(PushBusy, nil, "%d pushes are in progress, the most this server holds: try again later", open)
	}
	// Two begins of one run at once (on PostgreSQL, whose transactions run
	// side by side) both find no session: the second to insert adds none,
	// and begins again, to resume the first's session or be refused by it.
	res, err := tx.ExecContext(ctx, "INSERT INTO push_sessions (run_id, header, total, received, digest, origin, started, updated) VALUES (?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
		a.ID, b.Header, b.Total, b.Digest, string(origin), now.UnixNano(), now.UnixNano())
	if err != nil {
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, explain(db.path, "opening the push of run "+a.ID, err)
	} else if n == 0 {
		tx.Rollback()
		if again {
			return nil, fmt.Errorf("store: opening the push of run %s: its session was taken by another begin twice in a row: try again", a.ID)
		}
		return db.beginPush(ctx, b, true)
	}
	return st, explain(db.path, "opening the push of run "+a.ID, tx.Commit())
}

// storedPush answers a push of a run that is already stored: PushStored
// when its content digest is digest, a PushConflict when not; nil, nil
// when no run id is stored. A run stored here without a digest (run or
// imported here) has its digest computed from its export.
func (db *DB) storedPush(ctx context.Context, id, digest string) (*PushState, error) {
	if err := runExists(ctx, db.sql, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	have, origin, err := db.RunDigest(ctx, id)
	if err != nil {
		return nil, err
	}
	if have.Digest != digest {
		return nil, pushErrorf(PushConflict, nil, "run %s is already stored here with other content (digest %s, not %s): a run id names one run; delete the stored one first to replace it",
			id, have.Digest, digest)
	}
	have.Origin = origin
	return have, nil
}

// RunDigest returns a stored run's push state (PushStored, with its record
// count and content digest) and its origin (nil when the run was neither
// pushed nor pulled: its digest is then computed, ReadPushSource).
func (db *DB) RunDigest(ctx context.Context, id string) (*PushState, *PushOrigin, error) {
	var digest, origin string
	var records int64
	err := db.sql.QueryRowContext(ctx, "SELECT o.digest, o.origin, r.records FROM run_origins o JOIN runs r ON r.id = o.run_id WHERE o.run_id = ?", id).Scan(&digest, &origin, &records)
	if err == nil {
		var o PushOrigin
		if err := json.Unmarshal([]byte(origin), &o); err != nil {
			return nil, nil, fmt.Errorf("store: run %s: origin: %w", id, err)
		}
		return &PushState{ID: id, State: PushStored, Received: records, Total: records, Digest: digest}, &o, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, explain(db.path, "reading the origin of run "+id, err)
	}
	src, err := db.ReadPushSource(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return &PushState{ID: id, State: PushStored, Received: src.Records, Total: src.Records, Digest: src.Digest}, nil, nil
}

// PushStatus returns where the push of run id stands: receiving, or
// stored (a run stored here, pushed or not).
func (db *DB) PushStatus(ctx context.Context, id string) (*PushState, error) {
	st := &PushState{ID: id, State: PushReceiving}
	err := db.sql.QueryRowContext(ctx, "SELECT digest, total, received FROM push_sessions WHERE run_id = ?", id).Scan(&st.Digest, &st.Total, &st.Received)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, explain(db.path, "reading the push of run "+id, err)
	}
	if err := runExists(ctx, db.sql, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, pushErrorf(PushNoSession, nil, "no push of run %s is in progress, and no such run is stored", id)
		}
		return nil, err
	}
	st, origin, err := db.RunDigest(ctx, id)
	if err != nil {
		return nil, err
	}
	st.Origin = origin
	return st, nil
}

// PushRecords adds record lines to the push of run id, the first of them
// being record offset of the run. Lines the server already holds (a chunk
// sent again after its answer was lost) are skipped; a chunk that starts
// beyond them is a PushGap, with the state to resume from. Each line is
// checked (DecodePushRecord) before anything is stored.
func (db *DB) PushRecords(ctx context.Context, id string, offset int64, lines [][]byte) (*PushState, error) {
	if offset < 0 {
		return nil, pushErrorf(PushInvalid, nil, "offset: must be 0 or more, got %d", offset)
	}
	if err := checkLines(lines, offset); err != nil {
		return nil, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, explain(db.path, "storing records of the push of run "+id, err)
	}
	defer tx.Rollback()
	st := &PushState{ID: id, State: PushReceiving}
	// The session's row stays locked until the chunk is stored: a chunk
	// racing another at the same offset (a retry and its original, two
	// machines pushing one run) waits, then reads the records received
	// after it, and skips the lines already held.
	err = tx.QueryRowContext(ctx, "SELECT digest, total, received FROM push_sessions WHERE run_id = ?"+db.forUpdate(), id).Scan(&st.Digest, &st.Total, &st.Received)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		if st, _ := db.PushStatus(ctx, id); st != nil && st.State == PushStored {
			return st, nil // committed meanwhile: nothing more to add
		}
		return nil, pushErrorf(PushNoSession, nil, "no push of run %s is in progress: begin it first (POST /api/v1/pushes)", id)
	}
	if err != nil {
		return nil, explain(db.path, "storing records of the push of run "+id, err)
	}
	if offset > st.Received {
		return nil, pushErrorf(PushGap, st, "run %s: this server holds records 0 to %d, and the chunk starts at %d: send from %d", id, st.Received-1, offset, st.Received)
	}
	skip := st.Received - offset
	if skip >= int64(len(lines)) {
		return st, nil // every line already held
	}
	lines = lines[skip:]
	if st.Received+int64(len(lines)) > st.Total {
		return nil, pushErrorf(PushInvalid, st, "run %s: the chunk ends at record %d, beyond the %d records announced", id, st.Received+int64(len(lines))-1, st.Total)
	}
	body := bytes.Join(lines, []byte("\n"))
	if _, err := tx.ExecContext(ctx, "INSERT INTO push_chunks (run_id, first_index, n, body) VALUES (?, ?, ?, ?)", id, st.Received, len(lines), body); err != nil {
		return nil, explain(db.path, "storing records of the push of run "+id, err)
	}
	st.Received += int64(len(lines))
	if _, err := tx.ExecContext(ctx, "UPDATE push_sessions SET received = ?, updated = ? WHERE run_id = ?", st.Received, time.Now().UnixNano(), id); err != nil {
		return nil, explain(db.path, "storing records of the push of run "+id, err)
	}
	return st, explain(db.path, "storing records of the push of run "+id, tx.Commit())
}

// isStoreFailure reports whether err comes from the database itself (disk
// full, locked, its connection lost, a deadlock) rather than from the
// content: such a commit may be retried with the session kept.
func isStoreFailure(err error) bool {
	return sqliteCode(err) != 0 || isPostgresFailure(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// DropPush abandons the push of run id (nothing stored as a run).
func (db *DB) DropPush(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, "DELETE FROM push_sessions WHERE run_id = ?", id)
	return explain(db.path, "dropping the push of run "+id, err)
}

// SetOrigin records where a stored run came from, with its content digest
// (a run pulled from a server, stored with Import).
func (db *DB) SetOrigin(ctx context.Context, id, digest string, o PushOrigin) error {
	oj, err := json.Marshal(&o)
	if err != nil {
		return err
	}
	_, err = db.sql.ExecContext(ctx, "INSERT INTO run_origins (run_id, digest, origin) VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET digest = excluded.digest, origin = excluded.origin", id, digest, string(oj))
	return explain(db.path, "recording the origin of run "+id, err)
}
