package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"flperf/internal/result"
)

// legacySchema added runs.legacy: the figures of runs imported from the
// original FLPerformance.
const legacySchema = 11

// LegacyImport says what ImportLegacy did: the ids it added and those
// already there (imported before), each in the order given.
type LegacyImport struct {
	Added   []string `json:"added"`
	Present []string `json:"present"`
}

// ImportLegacy stores runs read from the original FLPerformance's files
// (each with its Legacy block and no records), all in one transaction:
// either every new run is stored or none is. A run whose id is already
// stored is left as it is, so importing the same file twice adds nothing
// (the ids are derived from the original's). Legacy runs get no stored
// summaries: they have no records for flperf to summarize.
func (db *DB) ImportLegacy(ctx context.Context, runs []*result.Result) (*LegacyImport, error) {
	if db.version < legacySchema {
		return nil, fmt.Errorf("store: database %s is at schema %d, and legacy runs need schema %d: open it once with this flperf (read-write) to migrate it", db.path, db.version, legacySchema)
	}
	type row struct {
		r       *result.Result
		j       runJSON
		warn    string
		legacy  string
		started any
		ended   any
	}
	rows := make([]row, 0, len(runs))
	for _, r := range runs {
		if r == nil || r.Legacy == nil {
			return nil, errors.New("store: import: a legacy run without its legacy block")
		}
		if r.ID == "" || r.Status == "" || r.Started.IsZero() {
			return nil, fmt.Errorf("store: import: legacy run %q: no id, status or start time", r.ID)
		}
		x := row{r: r}
		var err error
		if x.j, err = encodeRunJSON(r); err != nil {
			return nil, err
		}
		if x.warn, err = warningsJSON(r.Warnings); err != nil {
			return nil, err
		}
		if x.legacy, err = jsonText(r.Legacy); err != nil {
			return nil, fmt.Errorf("store: import: legacy run %s: %w", r.ID, err)
		}
		if x.started, err = timeArg(r.Started); err != nil {
			return nil, fmt.Errorf("store: import: legacy run %s: started: %w", r.ID, err)
		}
		if x.ended, err = timeArg(r.Ended); err != nil {
			return nil, fmt.Errorf("store: import: legacy run %s: ended: %w", r.ID, err)
		}
		rows = append(rows, x)
	}
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return nil, explain(db.path, "importing legacy runs", err)
	}
	defer tx.Rollback()
	out := &LegacyImport{Added: []string{}, Present: []string{}}
	beat := time.Now().UnixNano()
	seen := map[string]bool{}
	for _, x := range rows {
		id := x.r.ID
		if seen[id] {
			continue // the same run twice in one file: stored once
		}
		seen[id] = true
		err := runExists(ctx, tx, id)
		if err == nil {
			out.Present = append(out.Present, id)
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, explain(db.path, "importing legacy run "+id, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, server, warnings, owner_pid, owner_host, heartbeat, records, legacy)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, 0, ?)`,
			id, x.started, x.ended, string(x.r.Status), x.j.tool, x.j.engine, x.j.config, x.j.suite, x.j.server, x.warn, beat, x.legacy)
		if err != nil {
			return nil, explain(db.path, "importing legacy run "+id, err)
		}
		out.Added = append(out.Added, id)
	}
	if err := tx.Commit(); err != nil {
		return nil, explain(db.path, "importing legacy runs", err)
	}
	return out, nil
}
