package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"flperf/internal/engineseries"
)

// engineSeriesSchema is the schema version that added run_engine_series.
const engineSeriesSchema = 9

// saveEngineSeries stores run id's engine series (nothing for nil, or on a
// database older than engineSeriesSchema), replacing any stored before.
func (db *DB) saveEngineSeries(ctx context.Context, q querier, id string, s *engineseries.Series) error {
	if s == nil || db.version < engineSeriesSchema {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding the engine series: %w", err)
	}
	_, err = q.ExecContext(ctx, "INSERT INTO run_engine_series (run_id, series) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET series = excluded.series", id, string(b))
	return err
}

// readEngineSeries reads run id's engine series; nil when it has none.
func (db *DB) readEngineSeries(ctx context.Context, q querier, id string) (*engineseries.Series, error) {
	if db.version < engineSeriesSchema {
		return nil, nil
	}
	var text string
	err := q.QueryRowContext(ctx, "SELECT series FROM run_engine_series WHERE run_id = ?", id).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s engineseries.Series
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("stored engine series: %w", err)
	}
	return &s, nil
}

// EngineSeries returns run id's engine series (the engine's own queue and
// cache over time), or nil when none was sampled.
func (db *DB) EngineSeries(ctx context.Context, id string) (*engineseries.Series, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return nil, err
	}
	s, err := db.readEngineSeries(ctx, tx, id)
	if err != nil {
		return nil, explain(db.path, "reading the engine series of run "+id, err)
	}
	return s, nil
}
