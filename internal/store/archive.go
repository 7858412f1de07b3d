package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"flperf/internal/engineseries"
	"flperf/internal/record"
	"flperf/internal/result"
	"flperf/internal/stats"
	"flperf/internal/telemetry"
)

// Archive is the lossless export of one run: the run document as
// report.JSON prints it (summary recomputed from the records), the run's
// event log, and every request record. Export → JSON → Import elsewhere →
// Export → JSON gives the same bytes.
type Archive struct {
	result.Result
	Events []Event           `json:"events,omitempty"`
	Series *telemetry.Series `json:"series,omitempty"` // the resource samples, when the run was sampled
	// EngineSeries is the engine's own queue and cache over the run, when
	// it was sampled.
	EngineSeries *engineseries.Series `json:"engine_series,omitempty"`
	Records      []record.Record      `json:"records"`
}

// Export reads run id whole, from one consistent snapshot. It holds every
// record in memory.
func (db *DB) Export(ctx context.Context, id string) (*Archive, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, r, err := db.readArchiveHead(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	a.Records = []record.Record{}
	var agg stats.Aggregator
	if err := db.scanRecords(ctx, tx, id, 0, func(_ int64, rec *record.Record) error {
		agg.Add(rec)
		a.Records = append(a.Records, *rec)
		return nil
	}); err != nil {
		return nil, err
	}
	setArchiveSummary(a, r, &agg, len(a.Records))
	return a, nil
}

// readArchiveHead reads everything of run id's archive but its records,
// from tx: the run (returned apart, its summary still to be computed from
// the records), its events, resource samples and engine series. Export
// and ReadPushSource share it, so that a push header is Export's.
func (db *DB) readArchiveHead(ctx context.Context, tx *sql.Tx, id string) (*Archive, *result.Result, error) {
	r, err := db.readRun(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	a := &Archive{}
	if a.Events, err = readEvents(ctx, tx, db.path, id); err != nil {
		return nil, nil, err
	}
	if a.Series, err = readSeries(ctx, tx, id); err != nil {
		return nil, nil, explain(db.path, "reading the resource samples of run "+id, err)
	}
	if a.EngineSeries, err = db.readEngineSeries(ctx, tx, id); err != nil {
		return nil, nil, explain(db.path, "reading the engine series of run "+id, err)
	}
	return a, r, nil
}

// setArchiveSummary completes a's run document r from its n records
// summed in agg: the summary (recomputed, not the stored one), the
// groups' truncation warnings (result.MarkTruncated) and the record count.
func setArchiveSummary(a *Archive, r *result.Result, agg *stats.Aggregator, n int) {
	r.Summary = agg.Summary(stats.Options{SLO: r.Config.SLO})
	result.MarkTruncated(r)
	r.Records = n
	a.Result = *r
}

// Import inserts an exported run, records and events, in one transaction.
// A run with the same id must not exist. The summary is recomputed from the
// records as stored (the document's own summary is not trusted); an archived
// "running" run is stored as "interrupted", since no process writes it here.
func (db *DB) Import(ctx context.Context, doc *Archive) error {
	if doc == nil {
		return fmt.Errorf("store: import: no document")
	}
	if err := checkArchive(doc); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	batch := make([]*pending, 0, len(doc.Records))
	for i := range doc.Records {
		if err := doc.Records[i].CheckCounts(); err != nil {
			return fmt.Errorf("store: import: run %s: record seq %d: %w", doc.ID, doc.Records[i].Seq, err)
		}
		p, err := newPending(&doc.Records[i])
		if err != nil {
			return fmt.Errorf("store: import: run %s: %w", doc.ID, err)
		}
		batch = append(batch, p)
	}
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	defer tx.Rollback()
	if err := db.importTx(ctx, tx, doc, len(batch), func(ins *inserter, refused func(*pending, error) error) error {
		_, err := ins.insert(ctx, doc.ID, batch, refused)
		return err
	}); err != nil {
		return err
	}
	return explain(db.path, "importing run "+doc.ID, tx.Commit())
}

// importTx writes an archived run of nrec records inside tx: the run's
// row, its series, the records that insertRecords writes with ins (a
// duplicate seq goes to refused, which stops it), the events and the
// summaries recomputed from the records as stored. doc.Records is not read.
func (db *DB) importTx(ctx context.Context, tx *sql.Tx, doc *Archive, nrec int, insertRecords func(ins *inserter, refused func(*pending, error) error) error) error {
	status := doc.Status
	switch status {
	case "":
		return fmt.Errorf("store: import: run %s has no status", doc.ID)
	case Running:
		status = result.Interrupted
	}
	if doc.Started.IsZero() {
		return fmt.Errorf("store: import: run %s has no start time", doc.ID)
	}
	started, err := timeArg(doc.Started)
	if err != nil {
		return fmt.Errorf("store: import: run %s: started: %w", doc.ID, err)
	}
	ended, err := timeArg(doc.Ended)
	if err != nil {
		return fmt.Errorf("store: import: run %s: ended: %w", doc.ID, err)
	}
	j, err := encodeRunJSON(&doc.Result)
	if err != nil {
		return err
	}
	wj, err := warningsJSON(doc.Warnings)
	if err != nil {
		return err
	}
	slo, _ := stats.ParseSLO(doc.Config.SLOSpec) // an unreadable SLO: no goodput, as Run does
	if err := runExists(ctx, tx, doc.ID); err == nil {
		return fmt.Errorf("store: import: run %s already exists in %s; delete it first (flperf delete %s) to replace it", doc.ID, db.path, doc.ID)
	}
	beat := time.Now().UnixNano()
	_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, server, hardware, resources, warnings, owner_pid, owner_host, heartbeat, records)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?)`,
		doc.ID, started, ended, string(status), j.tool, j.engine, j.config, j.suite, j.server, j.hardware, j.resources, wj, beat, nrec)
	if err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	if doc.Legacy != nil { // a legacy run exported and imported again keeps its figures
		lj, err := jsonText(doc.Legacy)
		if err != nil {
			return fmt.Errorf("store: import: run %s: legacy: %w", doc.ID, err)
		}
		if db.version < legacySchema {
			return fmt.Errorf("store: import: run %s is a legacy run, and database %s (schema %d) predates them", doc.ID, db.path, db.version)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET legacy = ? WHERE id = ?", lj, doc.ID); err != nil {
			return explain(db.path, "importing run "+doc.ID, err)
		}
	}
	if err := saveSeries(ctx, tx, doc.ID, doc.Series); err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	if err := db.saveEngineSeries(ctx, tx, doc.ID, doc.EngineSeries); err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	ins, err := newInserter(ctx, tx, db.version, db.pg != nil)
	if err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	defer ins.close()
	var dup error
	if err := insertRecords(&ins, func(p *pending, err error) error {
		dup = fmt.Errorf("store: import: run %s: record seq %d appears twice", doc.ID, p.rec.Seq)
		return dup
	}); err != nil {
		if dup != nil {
			return dup
		}
		var perr *PushError
		if errors.As(err, &perr) {
			return err
		}
		return explain(db.path, "importing run "+doc.ID, err)
	}
	for _, e := range doc.Events {
		if err := db.insertEvent(ctx, tx, doc.ID, e); err != nil {
			return err
		}
	}
	// The summaries Run would recompute: from the records as stored, in
	// seq order.
	sum, err := db.summarizeOn(ctx, tx, doc.ID, slo)
	if err != nil {
		return err
	}
	if err := db.saveSummaries(ctx, tx, doc.ID, sum, beat); err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	res := doc.Result
	res.Status = status
	if err := db.saveBoard(ctx, tx, &res, &sum.sum); err != nil {
		return explain(db.path, "importing run "+doc.ID, err)
	}
	return nil
}
