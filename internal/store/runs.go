package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Running is the status of a run being written (BeginRun until FinishRun).
const Running runner.Status = "running"

// maxIDLen bounds a run id.
const maxIDLen = 128

// checkID refuses ids no run could have: empty, too long, not UTF-8, or with
// control characters.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("invalid run id %q (want 1–%d printable characters)", id, maxIDLen)
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

func encodeRunJSON(r *runner.Result) (runJSON, error) {
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
func serverOrEmpty(s []runner.StageServer) []runner.StageServer {
	if s == nil {
		return []runner.StageServer{}
	}
	return s
}

// warningsJSON encodes warnings, never as null.
func warningsJSON(ws []string) (string, error) {
	if ws == nil {
		ws = []string{}
	}
	return jsonText(ws)
}

// BeginRun inserts run r (ID, Tool, Started, Engine, Config and Suite set)
// with status "running", owned by this process. A run with the same id must
// not exist.
func (db *DB) BeginRun(ctx context.Context, r *runner.Result) error {
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
	res, err := db.sql.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, hardware, warnings, owner_pid, owner_host, heartbeat, records)
		SELECT ?, ?, NULL, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
		r.ID, st, string(Running), j.tool, j.engine, j.config, j.suite, j.hardware, db.pid, db.host, time.Now().UnixNano(), r.ID)
	if err != nil {
		return explain(db.path, "saving run "+r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
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
	msg := e.Message
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
// tool/engine/config/suite, and its summaries (r.Groups, r.Models, r.Total),
// in one transaction. Close the run's RecordWriter first. When fewer records
// were saved than r.Records, the stored warnings say so.
func (db *DB) FinishRun(ctx context.Context, r *runner.Result) error {
	if r.Status == "" || r.Status == Running {
		return fmt.Errorf("store: run %s: FinishRun needs a final status, got %q", r.ID, r.Status)
	}
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
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return explain(db.path, "saving run "+r.ID, err)
	}
	defer tx.Rollback()
	var stored int
	if err := tx.QueryRowContext(ctx, "SELECT records FROM runs WHERE id = ?", r.ID).Scan(&stored); err == sql.ErrNoRows {
		return fmt.Errorf("%w: %q (BeginRun first)", ErrNotFound, r.ID)
	} else if err != nil {
		return explain(db.path, "saving run "+r.ID, err)
	}
	ws := append([]string{}, r.Warnings...)
	if stored < r.Records {
		ws = append(ws, fmt.Sprintf("only %d of the run's %d request records were saved in the database (a write failed); figures recomputed from the database cover those only.", stored, r.Records))
	}
	wj, err := warningsJSON(ws)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended = ?, warnings = ?, tool = ?, engine = ?, config = ?, suite = ?, server = ?,
		hardware = coalesce(?, hardware), heartbeat = ? WHERE id = ?`,
		string(r.Status), end, wj, j.tool, j.engine, j.config, j.suite, j.server, j.hardware, time.Now().UnixNano(), r.ID)
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
	if err := insertSummaries(ctx, tx, r.ID, &r.Summary); err != nil {
		return explain(db.path, "saving the summaries of run "+r.ID, err)
	}
	return explain(db.path, "saving run "+r.ID, tx.Commit())
}

// Summary kinds of the summaries table.
const (
	kindGroup = "group"
	kindModel = "model"
	kindTotal = "total"
)

// insertSummaries replaces run id's summary rows with s's.
func insertSummaries(ctx context.Context, tx *sql.Tx, id string, s *stats.Summary) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM summaries WHERE run_id = ?", id); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO summaries (run_id, kind, model, scenario, stage, ord, requests, ok, error_rate, ttft_p50_ms, decode_p50_tps, output_tokens_per_s, json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	put := func(kind string, ord int, g *stats.Group) error {
		b, err := json.Marshal(g)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, id, kind, g.Model, g.Scenario, g.Stage, ord, g.Requests, g.OK, finiteOr0(g.ErrorRate),
			p50(g.TTFT), p50(g.DecodeTPS), finiteOr0(g.OutputTokensPerS), string(b))
		if err != nil && sqliteCode(err) == codeConstraint {
			return fmt.Errorf("two %s summaries for model %q scenario %q stage %q: %w", kind, g.Model, g.Scenario, g.Stage, err)
		}
		return err
	}
	for i := range s.Groups {
		if err := put(kindGroup, i, &s.Groups[i]); err != nil {
			return err
		}
	}
	for i := range s.Models {
		if err := put(kindModel, i, &s.Models[i]); err != nil {
			return err
		}
	}
	total := s.Total
	total.Model, total.Scenario, total.Stage = "", "", ""
	return put(kindTotal, 0, &total)
}

// p50 returns a distribution's median, or nil (NULL) when it has none.
func p50(d stats.Dist) any {
	if d.N == 0 || math.IsNaN(d.P50) || math.IsInf(d.P50, 0) {
		return nil
	}
	return d.P50
}

// finiteOr0 maps NaN and infinities (never expected) to 0 for NOT NULL columns.
func finiteOr0(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
