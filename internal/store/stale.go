package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// StaleAfter is how long a running run may go without a heartbeat before
// another process considers its writer dead. A RecordWriter beats every
// 10 s, also while no record completes.
const StaleAfter = 2 * time.Minute

// crashWarning is stored with a run found dead at Open.
const crashWarning = "interrupted: the flperf process writing this run stopped before it finished (killed or crashed); figures cover only the request records saved before then."

// owner is who writes a running run.
type owner struct {
	pid       int
	host      string
	heartbeat time.Time
}

// writing holds the runs this process is writing, from BeginRun until
// FinishRun (which ends it even when it fails), keyed by database path and
// run id, whichever *DB began them. A run this process owns that is not in
// it was left by a writer of this process that stopped: its final save
// failed (a full disk), or the run never got that far.
var writing sync.Map

// writingKey is run id's key in writing.
func (db *DB) writingKey(id string) string { return db.path + "\x00" + id }

// deadReason says why the owner of running run id is gone, or "" when it
// may still be alive. On the same host a process that no longer exists is
// dead at once, and so is a run of this very process that it no longer
// writes; anywhere, a heartbeat older than StaleAfter is. On PostgreSQL a
// run whose advisory lock no session holds is dead at once, from any host:
// its writer's session ended (takeLease).
func (db *DB) deadReason(ctx context.Context, id string, o owner, now time.Time) string {
	if o.host != "" && o.host == db.host {
		if o.pid == db.pid {
			if _, ok := writing.Load(db.writingKey(id)); !ok {
				return fmt.Sprintf("this flperf process (pid %d) no longer writes it: its final save failed", o.pid)
			}
		} else if processGone(o.pid) {
			return fmt.Sprintf("its process (pid %d on %s) no longer exists", o.pid, o.host)
		}
	}
	if db.pg != nil && db.lockFree(ctx, id) {
		return fmt.Sprintf("no session holds its lock in the database: the flperf process writing it (pid %d on %s) lost its connection (killed, crashed, or its machine went down)", o.pid, o.host)
	}
	if age := now.Sub(o.heartbeat); age > StaleAfter {
		return fmt.Sprintf("no sign of life from its process (pid %d on %s) for %s", o.pid, o.host, age.Round(time.Second))
	}
	return ""
}

// MarkStale marks every running run whose writer is dead (a `flperf run`
// killed with kill -9, a crashed app, a machine that went down) as
// interrupted, as Open does. A process that keeps a database open (the app)
// calls it whenever it lists, shows or deletes runs, so that a run that died
// elsewhere is never shown running, nor refused deletion, until a restart.
func (db *DB) MarkStale(ctx context.Context) error { return db.markStale(ctx, db.sql) }

// markStale marks every running run whose writer is dead as interrupted,
// with a warning and an event. The run of a live process is never touched:
// the update only applies if the heartbeat it judged is still the latest.
func (db *DB) markStale(ctx context.Context, q querier) error {
	type stale struct {
		id     string
		beat   int64
		reason string
	}
	rows, err := q.QueryContext(ctx, db.runningQuery(), string(Running))
	if err != nil {
		return explain(db.path, "looking for interrupted runs", err)
	}
	var found []stale
	now := time.Now()
	for rows.Next() {
		var s stale
		var o owner
		if err := rows.Scan(&s.id, &o.pid, &o.host, &s.beat); err != nil {
			rows.Close()
			return explain(db.path, "looking for interrupted runs", err)
		}
		o.heartbeat = time.Unix(0, s.beat)
		if s.reason = db.deadReason(ctx, s.id, o, now); s.reason != "" {
			found = append(found, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return explain(db.path, "looking for interrupted runs", err)
	}
	for _, s := range found {
		if err := db.markInterrupted(ctx, s.id, s.beat, s.reason); err != nil {
			return err
		}
	}
	return nil
}

// runningQuery lists the runs of status ?1 (running) with their writers.
// From schema 17 on it reads index runs_board (board, status), board being
// 0 or 1, so that the check the run list makes on every call reads the
// running runs only, not every stored run (a scan of 10,000 runs' rows
// took longer than the list itself: TestListAndBoardNeverReadRecords
// checks the plan). SQLite is told the index (INDEXED BY): its statistics
// do not say that running runs are rare, and it would scan; PostgreSQL's
// do.
func (db *DB) runningQuery() string {
	if db.version >= boardSchema {
		indexed := " INDEXED BY runs_board"
		if db.pg != nil {
			indexed = ""
		}
		return "SELECT id, owner_pid, owner_host, heartbeat FROM runs" + indexed + " WHERE board IN (0, 1) AND status = ?"
	}
	return "SELECT id, owner_pid, owner_host, heartbeat FROM runs WHERE status = ?"
}

// markInterrupted marks one dead run in its own transaction.
func (db *DB) markInterrupted(ctx context.Context, id string, beat int64, reason string) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return explain(db.path, "marking run "+id+" interrupted", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended = coalesce(ended, heartbeat), warnings = `+db.jsonAppend("warnings", "?")+`
		WHERE id = ? AND status = ? AND heartbeat = ?`, "interrupted", crashWarning, id, string(Running), beat)
	if err != nil {
		return explain(db.path, "marking run "+id+" interrupted", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // it beat meanwhile: alive after all
	}
	if err := db.insertEvent(ctx, tx, id, Event{At: time.Now(), Level: LevelWarn, Message: "marked interrupted when the database was next read: " + reason}); err != nil {
		return err
	}
	return explain(db.path, "marking run "+id+" interrupted", tx.Commit())
}

// isLive reports whether run id is running and its writer may be alive.
func (db *DB) isLive(ctx context.Context, id, status string, o owner) bool {
	return status == string(Running) && db.deadReason(ctx, id, o, time.Now()) == ""
}
