package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"flperf/internal/telemetry"
)

// telemetrySchema is the schema version that added runs.resources and
// run_samples.
const telemetrySchema = 5

// saveSeries stores run id's resource samples (nothing for nil), replacing
// any stored before.
func saveSeries(ctx context.Context, q querier, id string, s *telemetry.Series) error {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding the resource samples: %w", err)
	}
	_, err = q.ExecContext(ctx, "INSERT INTO run_samples (run_id, series) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET series = excluded.series", id, string(b))
	return err
}

// readSeries reads run id's resource samples; nil when it has none.
func readSeries(ctx context.Context, q querier, id string) (*telemetry.Series, error) {
	var text string
	err := q.QueryRowContext(ctx, "SELECT series FROM run_samples WHERE run_id = ?", id).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s telemetry.Series
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("stored resource samples: %w", err)
	}
	return &s, nil
}

// Series returns run id's resource samples (the time series the sampler
// recorded), or nil when the run was not sampled.
func (db *DB) Series(ctx context.Context, id string) (*telemetry.Series, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := runExists(ctx, tx, id); err != nil {
		return nil, err
	}
	s, err := readSeries(ctx, tx, id)
	if err != nil {
		return nil, explain(db.path, "reading the resource samples of run "+id, err)
	}
	return s, nil
}
