package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"flperf/internal/engine"
	"flperf/internal/result"
)

// Filter selects runs; zero fields select everything.
type Filter struct {
	Limit  int    // at most this many (0: all)
	Model  string // runs that benchmarked this model
	Engine string // engine kind, e.g. "ollama", "sim"
	Suite  string // suite name
	Status string // running, completed, interrupted, canceled
}

// RunInfo is one line of the run history. The headline figures come from
// the run's stored total summary and are nil where unknown (a run still
// going, or interrupted before FinishRun).
type RunInfo struct {
	ID               string        `json:"id"`
	Started          time.Time     `json:"started"`
	Ended            *time.Time    `json:"ended"`
	Status           result.Status `json:"status"`
	Engine           engine.Info   `json:"engine"`
	Models           []string      `json:"models"`
	Suite            string        `json:"suite"`
	Records          int           `json:"records"` // request records stored, warm-ups included
	Requests         *int          `json:"requests"`
	OK               *int          `json:"ok"`
	ErrorRate        *float64      `json:"error_rate"`
	TTFTP50          *float64      `json:"ttft_p50_ms"`
	DecodeP50        *float64      `json:"decode_p50_tps"`
	OutputTokensPerS *float64      `json:"output_tokens_per_s"`
	// Legacy marks a run imported from the original FLPerformance: its
	// figures are the original's (Result.Legacy), never flperf's.
	Legacy bool `json:"legacy,omitempty"`
	// Origin says where a pushed or pulled run came from; absent for a
	// run made here.
	Origin *PushOrigin `json:"origin,omitempty"`
}

// Runs lists stored runs, newest first.
func (db *DB) Runs(ctx context.Context, f Filter) ([]RunInfo, error) {
	q, args := db.runsQuery(f)
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, explain(db.path, "listing runs", err)
	}
	defer rows.Close()
	out := []RunInfo{}
	for rows.Next() {
		var ri RunInfo
		var started int64
		var ended, requests, ok sql.NullInt64
		var errRate, ttft, decode, outTPS sql.NullFloat64
		var status, eng, cfg, suite string
		var origin sql.NullString
		if err := rows.Scan(&ri.ID, &started, &ended, &status, &eng, &cfg, &suite, &ri.Records, &ri.Legacy,
			&requests, &ok, &errRate, &ttft, &decode, &outTPS, &origin); err != nil {
			return nil, explain(db.path, "listing runs", err)
		}
		if origin.Valid {
			o, err := decodeOrigin(ri.ID, origin.String)
			if err != nil {
				return nil, fmt.Errorf("database %s: %w", db.path, err)
			}
			ri.Origin = o
		}
		ri.Started = time.Unix(0, started).UTC()
		if ended.Valid {
			t := timeOf(ended)
			ri.Ended = &t
		}
		ri.Status = result.Status(status)
		var c struct {
			Models []string `json:"models"`
		}
		var s struct {
			Name string `json:"name"`
		}
		if err := firstErr(json.Unmarshal([]byte(eng), &ri.Engine), json.Unmarshal([]byte(cfg), &c), json.Unmarshal([]byte(suite), &s)); err != nil {
			return nil, fmt.Errorf("database %s: run %s: stored metadata: %w", db.path, ri.ID, err)
		}
		ri.Models, ri.Suite = c.Models, s.Name
		if ri.Models == nil {
			ri.Models = []string{}
		}
		ri.Requests, ri.OK = optInt(requests), optInt(ok)
		ri.ErrorRate, ri.TTFTP50, ri.DecodeP50, ri.OutputTokensPerS = optFloat(errRate), optFloat(ttft), optFloat(decode), optFloat(outTPS)
		out = append(out, ri)
	}
	return out, explain(db.path, "listing runs", rows.Err())
}

// runsQuery is Runs' query of f and its arguments. It reads the runs and
// their total summaries only, never the records (the run list answers from
// stored summaries: TestListAndBoardNeverReadRecords checks its plan).
func (db *DB) runsQuery(f Filter) (string, []any) {
	var limit any = f.Limit
	if f.Limit <= 0 {
		limit = -1 // SQLite: no limit
		if db.pg != nil {
			limit = nil // PostgreSQL: no limit
		}
	}
	legacyCol := "r.legacy IS NOT NULL"
	if db.version < legacySchema {
		legacyCol = "0"
	}
	originCol, originJoin := "NULL", ""
	if db.version >= pushSchema {
		originCol, originJoin = "o.origin", " LEFT JOIN run_origins o ON o.run_id = r.id"
	}
	return `SELECT r.id, r.started, r.ended, r.status, r.engine, r.config, r.suite, r.records, ` + legacyCol + `,
			s.requests, s.ok, s.error_rate, s.ttft_p50_ms, s.decode_p50_tps, s.output_tokens_per_s, ` + originCol + `
		FROM runs r LEFT JOIN summaries s ON s.run_id = r.id AND s.kind = 'total'` + originJoin + `
		WHERE (?1 = '' OR r.status = ?1)
		  AND (?2 = '' OR ` + db.jsonField("r.engine", "kind") + ` = ?2)
		  AND (?3 = '' OR ` + db.jsonField("r.suite", "name") + ` = ?3)
		  AND (?4 = '' OR EXISTS (SELECT 1 FROM ` + db.jsonArray("r.config", "models") + ` WHERE value = ?4))
		ORDER BY r.started DESC, r.id DESC LIMIT ?5`, []any{f.Status, f.Engine, f.Suite, f.Model, limit}
}

func optInt(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

func optFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// maxCandidates is how many ids an ambiguous prefix lists.
const maxCandidates = 10

// Resolve returns the id of the one run whose id is prefix or starts with
// it. Errors wrap ErrNotFound, or are an *AmbiguousError listing candidates.
func (db *DB) Resolve(ctx context.Context, prefix string) (string, error) {
	if prefix == "" {
		return "", fmt.Errorf("store: empty run id")
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM runs WHERE id = ?1
		UNION ALL SELECT * FROM (SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 AND id <> ?1 ORDER BY id LIMIT ?2) AS c`, prefix, maxCandidates+1)
	if err != nil {
		return "", explain(db.path, "finding run "+prefix, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", explain(db.path, "finding run "+prefix, err)
		}
		if id == prefix {
			return id, nil // an exact id wins over longer ids it prefixes
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", explain(db.path, "finding run "+prefix, err)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: no run id starts with %q (flperf runs lists them)", ErrNotFound, prefix)
	case 1:
		return ids[0], nil
	}
	e := &AmbiguousError{Prefix: prefix, Candidates: ids}
	if len(ids) > maxCandidates {
		e.Candidates, e.More = ids[:maxCandidates], true
	}
	return "", e
}
