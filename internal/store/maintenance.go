package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Delete removes run id and everything of it (records, summaries, events).
// The run of a live process is refused.
func (db *DB) Delete(ctx context.Context, id string) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return explain(db.path, "deleting run "+id, err)
	}
	defer tx.Rollback()
	var status string
	var o owner
	var beat int64
	err = tx.QueryRowContext(ctx, "SELECT status, owner_pid, owner_host, heartbeat FROM runs WHERE id = ?", id).Scan(&status, &o.pid, &o.host, &beat)
	if err != nil {
		if err := runExists(ctx, tx, id); err != nil {
			return err
		}
		return explain(db.path, "deleting run "+id, err)
	}
	o.heartbeat = time.Unix(0, beat)
	if db.isLive(ctx, id, status, o) {
		return fmt.Errorf("store: run %s is still being written (pid %d on %s); stop that run first", id, o.pid, o.host)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE id = ?", id); err != nil {
		return explain(db.path, "deleting run "+id, err)
	}
	return explain(db.path, "deleting run "+id, tx.Commit())
}

// Prune deletes the runs started before now − olderThan (when olderThan ≥
// 0; 0 deletes every run, negative gives no age) and the runs beyond the
// newest keep (when keep > 0): a run matching either goes, so afterwards at
// most keep runs remain and none is older than olderThan. A running run of
// a live process is never deleted, nor a run imported from the original
// FLPerformance (runs.legacy): its start date is the original's, often
// months old, and its figures cannot be measured again, so an age rule
// would erase an import at once; such a run is neither pruned nor counted
// in keep (`flperf delete` removes one). It returns how many runs it
// deleted.
func (db *DB) Prune(ctx context.Context, olderThan time.Duration, keep int) (int, error) {
	if olderThan < 0 && keep <= 0 {
		return 0, errors.New("store: prune: give an age, a number of runs to keep, or both")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, explain(db.path, "pruning", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT id, started, status, owner_pid, owner_host, heartbeat FROM runs WHERE legacy IS NULL ORDER BY started DESC, id DESC")
	if err != nil {
		return 0, explain(db.path, "pruning", err)
	}
	now := time.Now()
	cutoff := now.Add(-olderThan).UnixNano()
	var doomed []string
	for i := 0; rows.Next(); i++ {
		var id, status string
		var started, beat int64
		var o owner
		if err := rows.Scan(&id, &started, &status, &o.pid, &o.host, &beat); err != nil {
			rows.Close()
			return 0, explain(db.path, "pruning", err)
		}
		o.heartbeat = time.Unix(0, beat)
		old := olderThan >= 0 && started <= cutoff
		extra := keep > 0 && i >= keep
		if (old || extra) && !db.isLive(ctx, id, status, o) {
			doomed = append(doomed, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, explain(db.path, "pruning", err)
	}
	for _, id := range doomed {
		if _, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE id = ?", id); err != nil {
			return 0, explain(db.path, "pruning run "+id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, explain(db.path, "pruning", err)
	}
	return len(doomed), nil
}

// Backup writes a consistent copy of the database to dest (VACUUM INTO)
// while it may be in use. dest must not exist; its directory must. The
// copy is private to the user (0600).
func (db *DB) Backup(ctx context.Context, dest string) error {
	if dest == "" {
		return errors.New("store: backup: no destination file")
	}
	if db.pg != nil {
		return fmt.Errorf("store: backup: %s is a PostgreSQL database: back it up with PostgreSQL's own tools (pg_dump); flperf backup copies SQLite files", db.path)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("store: backup %s: %w", dest, err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return fmt.Errorf("store: backup: the directory of %s does not exist", abs)
	}
	// Claim the name atomically (VACUUM INTO accepts an empty file), so an
	// existing file is never touched and a failed copy is ours to remove.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: backup: %s already exists; choose a new file name", abs)
	}
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	if _, err := db.sql.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		_ = os.Remove(abs)
		return explain(abs, "writing a backup of "+db.path, err)
	}
	return nil
}
