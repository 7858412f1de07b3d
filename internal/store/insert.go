package store

import (
	"context"
	"database/sql"
	"errors"
)

// multiRows is how many records one multi-row INSERT carries.
const multiRows = 32

// inserter writes records with statements prepared once on one connection
// (or transaction) and reused for every batch.
type inserter struct {
	one  *sql.Stmt // INSERT of one record
	many *sql.Stmt // INSERT of multiRows records
	args []any
}

// preparer is what *sql.Conn and *sql.Tx share for preparing.
type preparer interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
}

func newInserter(ctx context.Context, p preparer) (inserter, error) {
	one, err := p.PrepareContext(ctx, insertSQL(1))
	if err != nil {
		return inserter{}, err
	}
	many, err := p.PrepareContext(ctx, insertSQL(multiRows))
	if err != nil {
		one.Close()
		return inserter{}, err
	}
	return inserter{one: one, many: many, args: make([]any, 0, multiRows*len(recordColumns))}, nil
}

func (in *inserter) close() error { return errors.Join(in.many.Close(), in.one.Close()) }

// insert writes batch for run runID inside the caller's transaction and
// returns how many records were stored. A record the table refuses (a
// constraint: a duplicate seq) goes to refused, which may skip it (nil) or
// stop the insert (its error).
func (in *inserter) insert(ctx context.Context, runID string, batch []*pending, refused func(*pending, error) error) (int, error) {
	n := 0
	for len(batch) >= multiRows {
		in.args = in.args[:0]
		for _, p := range batch[:multiRows] {
			in.args = p.appendArgs(in.args, runID)
		}
		_, err := in.many.ExecContext(ctx, in.args...)
		switch {
		case err == nil:
			n += multiRows
		case sqliteCode(err) == codeConstraint:
			k, err := in.insertEach(ctx, runID, batch[:multiRows], refused) // find the culprit
			n += k
			if err != nil {
				return n, err
			}
		default:
			return n, err
		}
		batch = batch[multiRows:]
	}
	k, err := in.insertEach(ctx, runID, batch, refused)
	return n + k, err
}

// insertEach writes records one statement each.
func (in *inserter) insertEach(ctx context.Context, runID string, batch []*pending, refused func(*pending, error) error) (int, error) {
	n := 0
	for _, p := range batch {
		in.args = p.appendArgs(in.args[:0], runID)
		_, err := in.one.ExecContext(ctx, in.args...)
		switch {
		case err == nil:
			n++
		case sqliteCode(err) == codeConstraint:
			if err := refused(p, err); err != nil {
				return n, err
			}
		default:
			return n, err
		}
	}
	return n, nil
}
