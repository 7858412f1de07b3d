package store

import (
	"context"
	"database/sql"
	"fmt"

	"flperf/internal/record"
)

// Spread chooses measured (non-warm-up) records spread evenly over a run,
// for SpreadRecords: the 1st, the (1+Stride)th, the (1+2·Stride)th, … of
// them in seq order, at most Limit.
type Spread struct {
	Model  string // only this model's records; "" for every model's
	Stride int    // values below 1 mean 1
	Limit  int    // values below 1 select nothing
}

// measuredSQL lists the seqs of a run's measured records (of one model,
// or of all) in seq order. (Numbering them in SQL, with row_number(), and
// keeping every stride-th there takes twice as long.)
const measuredSQL = `SELECT seq FROM records WHERE run_id = ?1 AND warmup = 0 AND (?2 = '' OR model = ?2) ORDER BY seq`

// SpreadRecords calls fn, in seq order, with the records of run id that sp
// chooses, whole (text and error included) and fresh (fn may keep them),
// from one consistent snapshot. Only the chosen records are read whole,
// so that a few samples of a large run cost little. An error from fn
// stops and is returned.
func (db *DB) SpreadRecords(ctx context.Context, id string, sp Spread, fn func(*record.Record) error) error {
	tx, err := db.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return err
	}
	if sp.Limit < 1 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, measuredSQL, id, sp.Model)
	if err != nil {
		return explain(db.path, "choosing records of run "+id, err)
	}
	var seqs []int64
	stride := max(sp.Stride, 1)
	for i := 0; len(seqs) < sp.Limit && rows.Next(); i++ {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return explain(db.path, "choosing records of run "+id, err)
		}
		if i%stride == 0 {
			seqs = append(seqs, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return explain(db.path, "choosing records of run "+id, err)
	}
	stmt, err := tx.PrepareContext(ctx, selectRecordsSQL(db.version, true))
	if err != nil {
		return explain(db.path, "reading records of run "+id, err)
	}
	defer stmt.Close()
	s := newRecordScanner()
	for _, seq := range seqs {
		r, err := readOne(ctx, stmt, s, id, seq)
		if err != nil {
			return explain(db.path, "reading records of run "+id, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// readOne reads record seq of run id with stmt (selectRecordsSQL's for
// one record).
func readOne(ctx context.Context, stmt *sql.Stmt, s *recordScanner, id string, seq int64) (*record.Record, error) {
	rows, err := stmt.QueryContext(ctx, id, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("record %d is gone", seq) // cannot happen in one snapshot
	}
	r, err := s.scan(rows)
	if err != nil {
		return nil, err
	}
	return r, rows.Close()
}
