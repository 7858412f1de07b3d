package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"flperf/internal/record"
	"flperf/internal/result"
	"flperf/internal/stats"
)

// Run returns stored run id: its metadata, status and warnings, and its
// summary as recomputed from its stored records (so a run that was
// interrupted shows what it measured), with the run's own SLO
// (Config.SLOSpec). A run that is over and whose summaries FinishRun or
// Import stored from the records it still has, with this build, is not
// recomputed: its stored summaries are that recomputation, and are
// returned as they are. Every other run (running, marked interrupted
// because its process died, written by another build, or changed since)
// is recomputed; RecomputeRun always recomputes.
func (db *DB) Run(ctx context.Context, id string) (*result.Result, error) {
	r, _, err := db.run(ctx, id, false, nil)
	return r, err
}

// RecomputeRun is Run with the summary always recomputed from the stored
// records, stored summaries or not (for `flperf show --recompute`, and to
// check them). It stores nothing.
func (db *DB) RecomputeRun(ctx context.Context, id string) (*result.Result, error) {
	r, _, err := db.run(ctx, id, true, nil)
	return r, err
}

// RunWithRecords is Run that, when it recomputes the summary, also calls
// fn with each record it reads, in the same pass, as StatsRecords would
// (every statistics field, chunks and server timings included; in seq
// order; fn must not keep the record): a caller that needs both reads the
// records once. recomputed is false when the stored summaries were used and
// fn was not called.
func (db *DB) RunWithRecords(ctx context.Context, id string, fn func(*record.Record)) (r *result.Result, recomputed bool, err error) {
	return db.run(ctx, id, false, fn)
}

// run reads run id, with its stored summaries unless recompute is set or
// they cannot be used; a recomputation also feeds each record to fn
// (unless nil).
func (db *DB) run(ctx context.Context, id string, recompute bool, fn func(*record.Record)) (*result.Result, bool, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	r, err := db.readRun(ctx, tx, id)
	if err != nil {
		return nil, false, err
	}
	if _, err := stats.ParseSLO(r.Config.SLOSpec); err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the stored SLO %q cannot be read (%v): no goodput is shown.", r.Config.SLOSpec, err))
	}
	if !recompute {
		sum, ok, err := db.storedSummary(ctx, tx, r)
		if err != nil {
			return nil, false, err
		}
		if ok {
			r.Summary = sum // r.Records, the stored count, is what they cover
			result.MarkTruncated(r)
			return r, false, nil
		}
	}
	sum, n, err := db.summarize(ctx, tx, id, r.Config.SLO, fn)
	if err != nil {
		return nil, false, err
	}
	r.Summary, r.Records = sum, n
	result.MarkTruncated(r) // the groups' warnings about prompts the engine cut (suite.truncated)
	return r, true, nil
}

// readRun reads a run's row (no summary); an unreadable stored SLO is
// the zero SLO.
func (db *DB) readRun(ctx context.Context, q querier, id string) (*result.Result, error) {
	var started int64
	var ended sql.NullInt64
	var status, tool, eng, cfg, suite, warnings, server string
	var hardware, resources, legacyJSON sql.NullString
	r := &result.Result{}
	resCol, legacyCol := "resources", "legacy"
	if db.version < telemetrySchema {
		resCol = "NULL"
	}
	if db.version < legacySchema {
		legacyCol = "NULL"
	}
	err := q.QueryRowContext(ctx, "SELECT id, started, ended, status, tool, engine, config, suite, warnings, server, hardware, "+resCol+", "+legacyCol+", records FROM runs WHERE id = ?", id).
		Scan(&r.ID, &started, &ended, &status, &tool, &eng, &cfg, &suite, &warnings, &server, &hardware, &resources, &legacyJSON, &r.Records)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, explain(db.path, "reading run "+id, err)
	}
	r.Started, r.Ended, r.Status = time.Unix(0, started).UTC(), timeOf(ended), result.Status(status)
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
	if legacyJSON.Valid {
		if err := json.Unmarshal([]byte(legacyJSON.String), &r.Legacy); err != nil {
			return nil, fmt.Errorf("database %s: run %s: stored legacy figures: %w", db.path, id, err)
		}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	r.Config.SLO, _ = stats.ParseSLO(r.Config.SLOSpec)
	return r, nil
}
