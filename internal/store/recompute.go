package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Run returns stored run id: its metadata, status and warnings, with the
// summary recomputed from its stored records (so a run that was interrupted
// shows what it measured). The SLO is the run's own (Config.SLOSpec).
func (db *DB) Run(ctx context.Context, id string) (*runner.Result, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	r, err := db.readRun(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if _, err := stats.ParseSLO(r.Config.SLOSpec); err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the stored SLO %q cannot be read (%v): no goodput is shown.", r.Config.SLOSpec, err))
	}
	sum, n, err := db.summarize(ctx, tx, id, r.Config.SLO)
	if err != nil {
		return nil, err
	}
	r.Summary, r.Records = sum, n
	return r, nil
}

// readRun reads a run's row (no summary); an unreadable stored SLO is
// the zero SLO.
func (db *DB) readRun(ctx context.Context, q querier, id string) (*runner.Result, error) {
	var started int64
	var ended sql.NullInt64
	var status, tool, eng, cfg, suite, warnings, server string
	var hardware, resources sql.NullString
	r := &runner.Result{}
	resCol := "resources"
	if db.version < telemetrySchema {
		resCol = "NULL"
	}
	err := q.QueryRowContext(ctx, "SELECT id, started, ended, status, tool, engine, config, suite, warnings, server, hardware, "+resCol+", records FROM runs WHERE id = ?", id).
		Scan(&r.ID, &started, &ended, &status, &tool, &eng, &cfg, &suite, &warnings, &server, &hardware, &resources, &r.Records)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, explain(db.path, "reading run "+id, err)
	}
	r.Started, r.Ended, r.Status = time.Unix(0, started).UTC(), timeOf(ended), runner.Status(status)
	if err := firstErr(json.Unmarshal([]byte(tool), &r.Tool), json.Unmarshal([]byte(eng), &r.Engine),
		json.Unmarshal([]byte(cfg), &r.Config), json.Unmarshal([]byte(suite), &r.Suite), json.Unmarshal([]byte(warnings), &r.Warnings), json.Unmarshal([]byte(server), &r.Server)); err != nil {
		return nil, fmt.Errorf("database %s: run %s: stored metadata: %w", db.path, id, err)
	}
	if hardware.Valid {
		if err := json.Unmarshal([]byte(hardware.String), &r.Hardware); err != nil {
			return nil, fmt.Errorf("database %s: run %s: stored hardware: %w", db.path, id, err)
		}
	}
	if resources.Valid {
		if err := json.Unmarshal([]byte(resources.String), &r.Resources); err != nil {
			return nil, fmt.Errorf("database %s: run %s: stored resources: %w", db.path, id, err)
		}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	r.Config.SLO, _ = stats.ParseSLO(r.Config.SLOSpec)
	return r, nil
}
