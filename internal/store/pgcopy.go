package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// copyRecords writes batch on PostgreSQL inside the writer's transaction
// with COPY (records, then record_text), the bulk path: one round trip per
// table instead of a statement per 32 records. COPY is all or nothing: when
// it meets a constraint (a duplicate seq, a stray record_text row) the
// batch is rolled back to a savepoint and written by the inserter, a
// record at a time, so that refused gets the culprit and the rest is kept,
// as on SQLite.
func (w *RecordWriter) copyRecords(ctx context.Context, batch []*pending, refused func(*pending, error) error) (int, error) {
	if _, err := w.conn.ExecContext(ctx, "SAVEPOINT flperf_copy"); err != nil {
		return 0, err
	}
	err := w.conn.Raw(func(dc any) error {
		pc := dc.(*pgConn).Conn.Conn()
		rows := make([][]any, len(batch))
		for i, p := range batch {
			rows[i] = pgRow(p.appendArgs(make([]any, 0, 40), w.runID, w.db.version))
		}
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{"records"}, columnsAt(w.db.version), pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		if w.db.version < textSchema {
			return nil
		}
		rows = rows[:0]
		for _, p := range batch {
			if p.hasText() {
				rows = append(rows, pgRow(p.appendTextArgs(make([]any, 0, len(textColumns)), w.runID)))
			}
		}
		if len(rows) == 0 {
			return nil
		}
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"record_text"}, textColumns, pgx.CopyFromRows(rows))
		return err
	})
	if err == nil {
		_, err = w.conn.ExecContext(ctx, "RELEASE SAVEPOINT flperf_copy")
		return len(batch), err
	}
	if !isConstraint(err) {
		return 0, err
	}
	if _, err := w.conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT flperf_copy"); err != nil {
		return 0, err
	}
	return w.ins.insert(ctx, w.runID, batch, refused)
}

// pgRow makes a row's text values storable in PostgreSQL (pgText): COPY
// does not pass through pgConn.CheckNamedValue.
func pgRow(row []any) []any {
	for i, v := range row {
		if s, ok := v.(string); ok {
			row[i] = pgText(s)
		}
	}
	return row
}
