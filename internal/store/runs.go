package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"flperf/internal/engine"
	"flperf/internal/result"
	"flperf/internal/stats"
)

// Running is the status of a run being written (BeginRun until FinishRun).
const Running result.Status = "running"

// maxIDLen bounds a run id.
const maxIDLen = 128

// checkID refuses ids the app could not open (ValidID).
func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("invalid run id %q (want 1–%d letters, digits and '-')", id, maxIDLen)
	}
	return nil
}

// jsonText encodes v as compact JSON without HTML escaping.
func jsonText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// runJSON holds the JSON columns of a run; hardware and resources are nil
// (NULL) when the run has none.
type runJSON struct {
	tool, engine, config, suite, server string
	hardware, resources                 any
}

func encodeRunJSON(r *result.Result) (runJSON, error) {
	r = redactRun(r)
	var j runJSON
	var err error
	for _, f := range []struct {
		dst *string
		v   any
	}{{&j.tool, r.Tool}, {&j.engine, r.Engine}, {&j.config, r.Config}, {&j.suite, r.Suite}, {&j.server, serverOrEmpty(r.Server)}} {
		if *f.dst, err = jsonText(f.v); err != nil {
			return j, fmt.Errorf("store: run %s: encoding: %w", r.ID, err)
		}
	}
	if r.Hardware != nil {
		if j.hardware, err = jsonText(r.Hardware); err != nil {
			return j, fmt.Errorf("store: run %s: encoding the hardware: %w", r.ID, err)
		}
	}
	if r.Resources != nil {
		if j.resources, err = jsonText(r.Resources); err != nil {
			return j, fmt.Errorf("store: run %s: encoding the resources: %w", r.ID, err)
		}
	}
	return j, nil
}

// serverOrEmpty makes a run without server-side figures encode as [].
func serverOrEmpty(s []result.StageServer) []result.StageServer {
	if s == nil {
		return []result.StageServer{}
	}
	return s
}

// warningsJSON encodes warnings, never as null.
func warningsJSON(ws []string) (string, error) {
	if ws == nil {
		ws = []string{}
	}
	ws = redactAll(ws)
	return jsonText(ws)
}

// BeginRun inserts run r (ID, Tool, Started, Engine, Config and Suite set)
// with status "running", owned by this process. A run with the same id must
// not exist.
func (db *DB) BeginRun(ctx context.Context, r *result.Result) error {
	if err := checkID(r.ID); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	started := r.Started
	if started.IsZero() {
		started = time.Now()
	}
	st, err := timeArg(started)
	if err != nil {
		return fmt.Errorf("store: run %s: started: %w", r.ID, err)
	}
	j, err := encodeRunJSON(r)
	if err != nil {
		return err
	}
	// Registered before the row exists, so that no MarkStale can find the
	// row without it.
	key := db.writingKey(r.ID)
	_, had := writing.LoadOrStore(key, struct{}{})
	unregister := func() {
		if !had {
			writing.Delete(key)
		}
	}
	if db.pg != nil {
		// The lock before the row: no other process may see the row
		// without it and judge its writer dead.
		if err := db.takeLease(ctx, r.ID); err != nil {
			unregister()
			return err
		}
		prev := unregister
		unregister = func() {
			db.dropLease(r.ID)
			prev()
		}
	}
	res, err := db.sql.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, hardware, warnings, owner_pid, owner_host, heartbeat, records)
		SELECT ?, ?, NULL, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
		r.ID, st, string(Running), j.tool, j.engine, j.config, j.suite, j.hardware, db.pid, db.host, time.Now().UnixNano(), r.ID)
	if err != nil {
		unregister()
		return explain(db.path, "saving run "+r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		unregister()
		return fmt.Errorf("store: run %s already exists in %s", r.ID, db.path)
	}
	return nil
}

// Event levels used by flperf; Event accepts any short level.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Limits on an event.
const (
	maxLevelLen   = 16
	maxMessageLen = 8 << 10
)

// Event is one line of a run's event log.
type Event struct {
	At      time.Time `json:"at"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// Event appends a line to run runID's event log (stage changes, warnings,
// notes). An empty level is "info"; a very long message is shortened.
func (db *DB) Event(ctx context.Context, runID, level, msg string) error {
	return db.insertEvent(ctx, db.sql, runID, Event{At: time.Now(), Level: level, Message: msg})
}

// insertEvent inserts e for run runID through q.
func (db *DB) insertEvent(ctx context.Context, q querier, runID string, e Event) error {
	level := strings.TrimSpace(e.Level)
	if level == "" {
		level = LevelInfo
	}
	if len(level) > maxLevelLen {
		return fmt.Errorf("store: event level %q is too long", level)
	}
	msg := engine.RedactUserinfo(e.Message)
	if len(msg) > maxMessageLen {
		msg = strings.ToValidUTF8(msg[:maxMessageLen], "") + "…"
	}
	at, err := timeArg(e.At)
	if err != nil {
		return fmt.Errorf("store: event of run %s: %w", runID, err)
	}
	if at == nil {
		return fmt.Errorf("store: an event of run %s has no time", runID)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO events (run_id, at, level, message) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
		runID, at, level, msg, runID)
	if err != nil {
		return explain(db.path, "saving an event of run "+runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, runID)
	}
	return nil
}

// Events returns run id's event log, oldest first.
func (db *DB) Events(ctx context.Context, id string) ([]Event, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return nil, err
	}
	return readEvents(ctx, tx, db.path, id)
}

func readEvents(ctx context.Context, q querier, path, id string) ([]Event, error) {
	rows, err := q.QueryContext(ctx, "SELECT at, level, message FROM events WHERE run_id = ? ORDER BY id", id)
	if err != nil {
		return nil, explain(path, "reading events", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var at sql.NullInt64
		var e Event
		if err := rows.Scan(&at, &e.Level, &e.Message); err != nil {
			return nil, explain(path, "reading events", err)
		}
		e.At = timeOf(at)
		out = append(out, e)
	}
	return out, explain(path, "reading events", rows.Err())
}

// FinishRun stores how run r ended: status, end time, warnings, the final
// tool/engine/config/suite, and its summaries, in one transaction. Close
// the run's RecordWriter first. When fewer records were saved than
// r.Records, the stored warnings say so.
//
// The summaries stored are those Run would recompute from the stored
// records with the run's SLO (r.Config.SLOSpec), not r.Summary, the
// runner's live figures, which saw the records in the order they finished
// and perhaps records that were not saved: so Run can return them as they
// are (see Run) and they are always what a recomputation shows. They are
// computed before the write lock is taken, and again under it only if a
// record was stored meanwhile.
func (db *DB) FinishRun(ctx context.Context, r *result.Result) error {
	if r.Status == "" || r.Status == Running {
		return fmt.Errorf("store: run %s: FinishRun needs a final status, got %q", r.ID, r.Status)
	}
	// This process writes the run no more, saved or not: when the save
	// fails, the run is found dead (MarkStale) and shown interrupted.
	defer writing.Delete(db.writingKey(r.ID))
	defer db.dropLease(r.ID)
	ended := r.Ended
	if ended.IsZero() {
		ended = time.Now()
	}
	end, err := timeArg(ended)
	if err != nil {
		return fmt.Errorf("store: run %s: ended: %w", r.ID, err)
	}
	j, err := encodeRunJSON(r)
	if err != nil {
		return err
	}
	slo, _ := stats.ParseSLO(r.Config.SLOSpec) // an unreadable SLO: no goodput, as Run does
	pre, err := db.summarizeSnapshot(ctx, r.ID, slo)
	if err != nil {
		return err
	}
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return explain(db.path, "saving run "+r.ID, err)
	}
	defer tx.Rollback()
	sum, err := db.summarizeUnder(ctx, tx, r.ID, slo, pre)
	if err != nil {
		return err
	}
	if !sum.mark.found {
		return fmt.Errorf("%w: %q (BeginRun first)", ErrNotFound, r.ID)
	}
	stored := int(sum.mark.records)
	ws := append([]string{}, r.Warnings...)
	if stored < r.Records {
		ws = append(ws, fmt.Sprintf("only %d of the run's %d request records were saved in the database (a write failed); figures recomputed from the database cover those only.", stored, r.Records))
	}
	wj, err := warningsJSON(ws)
	if err != nil {
		return err
	}
	beat := time.Now().UnixNano()
	_, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended = ?, warnings = ?, tool = ?, engine = ?, config = ?, suite = ?, server = ?,
		hardware = coalesce(?, hardware), heartbeat = ? WHERE id = ?`,
		string(r.Status), end, wj, j.tool, j.engine, j.config, j.suite, j.server, j.hardware, beat, r.ID)
	if err != nil {
		return explain(db.path, "saving run "+r.ID, err)
	}
	if db.version >= telemetrySchema {
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET resources = ? WHERE id = ?", j.resources, r.ID); err != nil {
			return explain(db.path, "saving run "+r.ID, err)
		}
		if err := saveSeries(ctx, tx, r.ID, r.Series); err != nil {
			return explain(db.path, "saving the resource samples of run "+r.ID, err)
		}
	}
	if err := db.saveEngineSeries(ctx, tx, r.ID, r.EngineSeries); err != nil {
		return explain(db.path, "saving the engine series of run "+r.ID, err)
	}
	if err := db.saveSummaries(ctx, tx, r.ID, sum, beat); err != nil {
		return explain(db.path, "saving the summaries of run "+r.ID, err)
	}
	if err := db.saveBoard(ctx, tx, r, &sum.sum); err != nil {
		return explain(db.path, "saving the board rows of run "+r.ID, err)
	}
	return explain(db.path, "saving run "+r.ID, tx.Commit())
}
