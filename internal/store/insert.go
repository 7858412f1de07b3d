package store

import (
	"context"
	"database/sql"
	"errors"
)

// multiRows is how many records one multi-row INSERT carries.
const multiRows = 32

// textUpsert replaces a record_text row of the same run and seq.
const textUpsert = " ON CONFLICT (run_id, seq) DO UPDATE SET error = excluded.error, text = excluded.text"

// inserter writes records with statements prepared once on one connection
// (or transaction) and reused for every batch: a record's row into records
// and, when it has an error or a text, one into record_text.
type inserter struct {
	one, many         *sql.Stmt // INSERT of one record; of multiRows records
	textOne, textMany *sql.Stmt // the same into record_text; nil before schema 4
	legacy            bool      // before schema 4: error and text in records
	version           int       // the database's schema version
	args              []any
	// sp, on PostgreSQL, runs the savepoint statements that let a
	// transaction go on after a refused row (PostgreSQL aborts the whole
	// transaction at an error); nil on SQLite, which only undoes the
	// statement.
	sp preparer
}

// preparer is what *sql.Conn and *sql.Tx share for preparing and running.
type preparer interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// newInserter prepares the statements for a database at schema version;
// pg says whether it is PostgreSQL.
func newInserter(ctx context.Context, p preparer, version int, pg bool) (in inserter, err error) {
	in.legacy, in.version = version < textSchema, version
	if pg {
		in.sp = p
	}
	cols := columnsAt(version)
	var stmts []*sql.Stmt
	defer func() {
		if err != nil {
			for _, s := range stmts {
				s.Close()
			}
		}
	}()
	prep := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		if s, err = p.PrepareContext(ctx, query); err == nil {
			stmts = append(stmts, s)
		}
		return s
	}
	in.one = prep(insertSQL("INSERT INTO records", cols, 1))
	in.many = prep(insertSQL("INSERT INTO records", cols, multiRows))
	if !in.legacy {
		// ON CONFLICT … DO UPDATE: a stray row of a seq that records lacks
		// (a damaged database) gives way rather than failing the write.
		in.textOne = prep(insertSQL("INSERT INTO record_text", textColumns, 1) + textUpsert)
		in.textMany = prep(insertSQL("INSERT INTO record_text", textColumns, multiRows) + textUpsert)
	}
	if err != nil {
		return inserter{}, err
	}
	in.args = make([]any, 0, multiRows*len(cols))
	return in, nil
}

func (in *inserter) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{in.textMany, in.textOne, in.many, in.one} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// insert writes batch for run runID inside the caller's transaction and
// returns how many records were stored. A record the table refuses (a
// constraint: a duplicate seq) goes to refused, which may skip it (nil) or
// stop the insert (its error).
func (in *inserter) insert(ctx context.Context, runID string, batch []*pending, refused func(*pending, error) error) (int, error) {
	n := 0
	for len(batch) >= multiRows {
		in.args = in.args[:0]
		for _, p := range batch[:multiRows] {
			in.args = p.appendArgs(in.args, runID, in.version)
		}
		err := in.guard(ctx, func() error {
			_, err := in.many.ExecContext(ctx, in.args...)
			return err
		})
		switch {
		case err == nil:
			if err := in.insertTexts(ctx, runID, batch[:multiRows]); err != nil {
				return n, err
			}
			n += multiRows
		case isConstraint(err):
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

// guard runs exec; on PostgreSQL inside a savepoint, rolled back to when
// exec fails, so that the transaction can go on (SQLite undoes a failed
// statement by itself).
func (in *inserter) guard(ctx context.Context, exec func() error) error {
	if in.sp == nil {
		return exec()
	}
	if _, err := in.sp.ExecContext(ctx, "SAVEPOINT flperf_insert"); err != nil {
		return err
	}
	if err := exec(); err != nil {
		if _, rerr := in.sp.ExecContext(ctx, "ROLLBACK TO SAVEPOINT flperf_insert"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := in.sp.ExecContext(ctx, "RELEASE SAVEPOINT flperf_insert")
	return err
}

// insertEach writes records one statement each.
func (in *inserter) insertEach(ctx context.Context, runID string, batch []*pending, refused func(*pending, error) error) (int, error) {
	n := 0
	for i, p := range batch {
		in.args = p.appendArgs(in.args[:0], runID, in.version)
		err := in.guard(ctx, func() error {
			_, err := in.one.ExecContext(ctx, in.args...)
			return err
		})
		switch {
		case err == nil:
			if err := in.insertTexts(ctx, runID, batch[i:i+1]); err != nil {
				return n, err
			}
			n++
		case isConstraint(err):
			if err := refused(p, err); err != nil {
				return n, err
			}
		default:
			return n, err
		}
	}
	return n, nil
}

// insertTexts writes the record_text rows of the records of batch that
// have an error or a text (nothing before schema 4), multiRows at a time.
func (in *inserter) insertTexts(ctx context.Context, runID string, batch []*pending) error {
	if in.legacy {
		return nil
	}
	in.args = in.args[:0]
	k := 0
	for _, p := range batch {
		if !p.hasText() {
			continue
		}
		in.args = p.appendTextArgs(in.args, runID)
		if k++; k == multiRows {
			if _, err := in.textMany.ExecContext(ctx, in.args...); err != nil {
				return err
			}
			in.args, k = in.args[:0], 0
		}
	}
	for i := 0; i < k; i++ {
		if _, err := in.textOne.ExecContext(ctx, in.args[i*len(textColumns):(i+1)*len(textColumns)]...); err != nil {
			return err
		}
	}
	return nil
}
