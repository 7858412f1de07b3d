package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"flperf/internal/board"
	"flperf/internal/result"
	"flperf/internal/stats"
)

// boardSchema is the schema version that added the board table (the
// leaderboard's index) and runs.board.
const boardSchema = 17

// saveBoard replaces run res's board rows with those of its stored
// summary sum, and marks the run indexed (from schema 17 on).
func (db *DB) saveBoard(ctx context.Context, tx *sql.Tx, res *result.Result, sum *stats.Summary) error {
	if db.version < boardSchema {
		return nil
	}
	if db.pg != nil {
		// The run's row stays locked until tx ends: two saves of one run
		// at once (two readers indexing it, a recompute) take turns, the
		// second replacing the first's rows, never clashing on their key.
		if _, err := tx.ExecContext(ctx, "SELECT 1 FROM runs WHERE id = ?"+db.forUpdate(), res.ID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM board WHERE run_id = ?", res.ID); err != nil {
		return err
	}
	rows := board.RowsOf(res, sum)
	if len(rows) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO board (run_id, model, stage, started, suite, scenarios, load, profile, machine, machine_json, class,
			engine, engine_version, quant, simulated, power, requests, ok, error_rate, ttft_p50_ms, decode_p50_tps, output_tps, e2e_p95_ms, j_per_token, score, score_complete)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range rows {
			r := &rows[i]
			mj, err := json.Marshal(r.Machine)
			if err != nil {
				return err
			}
			_, err = st.ExecContext(ctx, r.RunID, r.Model, r.Stage, r.Started.UnixNano(), r.Suite, r.Scenarios, r.Load, r.Profile,
				r.Machine.Key, string(mj), r.Machine.Class, r.Engine, r.EngineVersion, r.Quant, boolInt(r.Simulated), r.Power, r.Requests, r.OK,
				r.ErrorRate, nullable(r.TTFTP50), nullable(r.DecodeP50), nullable(r.OutputTPS), nullable(r.E2EP95), nullable(r.JPerToken),
				nullable(r.Score), boolInt(r.ScoreComplete))
			if err != nil {
				return fmt.Errorf("board row of model %q stage %q: %w", r.Model, r.Stage, err)
			}
		}
	}
	_, err := tx.ExecContext(ctx, "UPDATE runs SET board = 1 WHERE id = ?", res.ID)
	return err
}

// indexBoard indexes the completed runs saved before schema 17 (runs.board
// 0), from their summaries (stored ones where usable), once each.
func (db *DB) indexBoard(ctx context.Context) error {
	if db.version < boardSchema {
		return nil
	}
	for {
		ids, err := db.unindexed(ctx, 200)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			res, err := db.Run(ctx, id)
			if err != nil {
				return err
			}
			tx, err := db.sql.BeginTx(ctx, nil)
			if err != nil {
				return explain(db.path, "indexing run "+id+" for the board", err)
			}
			// Another reader may have indexed it meanwhile (locked on
			// PostgreSQL until this one's turn): once is enough.
			var indexed int
			err = tx.QueryRowContext(ctx, "SELECT board FROM runs WHERE id = ?"+db.forUpdate(), id).Scan(&indexed)
			if err == nil && indexed == 0 {
				err = db.saveBoard(ctx, tx, res, &res.Summary)
			}
			if errors.Is(err, sql.ErrNoRows) { // deleted meanwhile
				err = nil
			}
			if err == nil {
				err = tx.Commit()
			}
			tx.Rollback()
			if err != nil {
				return explain(db.path, "indexing run "+id+" for the board", err)
			}
		}
	}
}

// unindexedQuery lists up to ?2 runs of status ?1 not yet on the board
// (index runs_board).
const unindexedQuery = "SELECT id FROM runs WHERE board = 0 AND status = ? LIMIT ?"

// unindexed lists up to n completed runs not yet on the board.
func (db *DB) unindexed(ctx context.Context, n int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, unindexedQuery, string(result.Completed), n)
	if err != nil {
		return nil, explain(db.path, "reading the runs to index", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, explain(db.path, "reading the runs to index", err)
		}
		ids = append(ids, id)
	}
	return ids, explain(db.path, "reading the runs to index", rows.Err())
}

// BoardFilter narrows the board's rows: each non-empty field must match.
type BoardFilter struct {
	board.Config
	Machine       string    // a machine key
	Model         string    // a model id
	Engine        string    // engine kind
	EngineVersion string    // engine version
	Quant         string    // quantisation
	Since, Until  time.Time // the run's start within [Since, Until) (zero: open)
}

// ErrOldSchema is returned by the board's reads on a database whose schema
// predates the board (it is migrated when opened for writing).
var ErrOldSchema = fmt.Errorf("store: the database's schema predates the leaderboard (schema %d); open it with this flperf to upgrade it", boardSchema)

// where is f as a WHERE clause's conditions (joined with AND) and their
// arguments, its columns prefixed with p ("" or "b.").
func (f *BoardFilter) where(p string) (string, []any) {
	var conds []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, p+col+" = ?")
			args = append(args, v)
		}
	}
	eq("suite", f.Suite)
	eq("scenarios", f.Scenarios)
	eq("load", f.Load)
	if f.Suite != "" { // a configuration: custom and profiled rows never mix
		conds = append(conds, p+"profile = ?")
		args = append(args, f.Profile)
	} else {
		eq("profile", f.Profile)
	}
	eq("machine", f.Machine)
	eq("model", f.Model)
	eq("engine", f.Engine)
	eq("engine_version", f.EngineVersion)
	eq("quant", f.Quant)
	if !f.Since.IsZero() {
		conds = append(conds, p+"started >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		conds = append(conds, p+"started < ?")
		args = append(args, f.Until.UnixNano())
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// boardColumns are the columns scanBoard reads, with prefix b.
const boardColumns = `b.run_id, b.model, b.stage, b.started, b.suite, b.scenarios, b.load, b.profile, b.machine_json, b.engine, b.engine_version,
	b.quant, b.simulated, b.power, b.requests, b.ok, b.error_rate, b.ttft_p50_ms, b.decode_p50_tps, b.output_tps, b.e2e_p95_ms, b.j_per_token, b.score, b.score_complete`

// BoardRows returns every board row that matches f, oldest first (the
// trend view's). Runs saved before the board existed are indexed first,
// once.
func (db *DB) BoardRows(ctx context.Context, f BoardFilter) ([]board.Row, error) {
	if db.version < boardSchema {
		return nil, ErrOldSchema
	}
	if err := db.indexBoard(ctx); err != nil {
		return nil, err
	}
	q, args := boardRowsQuery(f)
	return db.scanBoard(ctx, q, args, false)
}

// boardRowsQuery is BoardRows' query of f and its arguments.
func boardRowsQuery(f BoardFilter) (string, []any) {
	w, args := f.where("b.")
	return "SELECT " + boardColumns + " FROM board b WHERE " + w + " ORDER BY b.started, b.run_id, b.model, b.stage", args
}

// BoardCells returns, for each model × machine with rows that match f,
// its newest row with Runs set to how many rows matched (one per run in a
// configuration), oldest first: the matrix's cells, read from the
// board_config index without the rows they stand for.
func (db *DB) BoardCells(ctx context.Context, f BoardFilter) ([]board.Row, error) {
	if db.version < boardSchema {
		return nil, ErrOldSchema
	}
	if err := db.indexBoard(ctx); err != nil {
		return nil, err
	}
	q, args := boardCellsQuery(f)
	rows, err := db.scanBoard(ctx, q, args, true)
	if err != nil {
		return nil, err
	}
	// Two runs that started in the same nanosecond: keep the larger id.
	type pair struct{ model, machine string }
	seen := map[pair]int{}
	out := rows[:0]
	for _, r := range rows {
		k := pair{r.Model, r.Machine.Key}
		if i, dup := seen[k]; dup {
			out[i] = r
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out, nil
}

// boardCellsQuery is BoardCells' query of f and its arguments.
func boardCellsQuery(f BoardFilter) (string, []any) {
	wi, ai := f.where("")
	wo, ao := f.where("b.")
	return "SELECT " + boardColumns + `, g.runs FROM board b JOIN
		(SELECT model, machine, max(started) AS newest, count(*) AS runs FROM board WHERE ` + wi + ` GROUP BY model, machine) g
		ON b.model = g.model AND b.machine = g.machine AND b.started = g.newest
		WHERE ` + wo + " ORDER BY b.started, b.run_id, b.model, b.stage", append(ai, ao...)
}

// scanBoard runs a query of boardColumns (and g.runs when withRuns).
func (db *DB) scanBoard(ctx context.Context, q string, args []any, withRuns bool) ([]board.Row, error) {
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, explain(db.path, "reading the board", err)
	}
	defer rows.Close()
	out := []board.Row{}
	machines := map[string]board.Machine{} // one decode per machine description
	for rows.Next() {
		var r board.Row
		var started int64
		var mj string
		var sim, complete int
		var ttft, dec, otps, e2e, jpt, score sql.NullFloat64
		dst := []any{&r.RunID, &r.Model, &r.Stage, &started, &r.Suite, &r.Scenarios, &r.Load, &r.Profile, &mj, &r.Engine,
			&r.EngineVersion, &r.Quant, &sim, &r.Power, &r.Requests, &r.OK, &r.ErrorRate, &ttft, &dec, &otps, &e2e, &jpt, &score, &complete}
		if withRuns {
			dst = append(dst, &r.Runs)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, explain(db.path, "reading the board", err)
		}
		m, ok := machines[mj]
		if !ok {
			if err := json.Unmarshal([]byte(mj), &m); err != nil {
				return nil, fmt.Errorf("store: board row of run %s: machine: %w", r.RunID, err)
			}
			machines[mj] = m
		}
		r.Machine = m
		r.Started = time.Unix(0, started).UTC()
		r.Simulated, r.ScoreComplete = sim != 0, complete != 0
		r.TTFTP50, r.DecodeP50, r.OutputTPS, r.E2EP95, r.JPerToken, r.Score = optFloat(ttft), optFloat(dec), optFloat(otps), optFloat(e2e), optFloat(jpt), optFloat(score)
		out = append(out, r)
	}
	return out, explain(db.path, "reading the board", rows.Err())
}

// BoardChoices lists the distinct engines, engine versions and
// quantisations of configuration c's rows (the board's filter choices),
// each sorted.
func (db *DB) BoardChoices(ctx context.Context, c board.Config) (engines, versions, quants []string, err error) {
	if db.version < boardSchema {
		return nil, nil, nil, ErrOldSchema
	}
	q, args := boardChoicesQuery(c)
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, nil, explain(db.path, "reading the board", err)
	}
	defer rows.Close()
	engines, versions, quants = []string{}, []string{}, []string{}
	add := func(xs []string, v string) []string {
		if i, found := slices.BinarySearch(xs, v); v != "" && !found {
			return slices.Insert(xs, i, v)
		}
		return xs
	}
	for rows.Next() {
		var e, v, q string
		if err := rows.Scan(&e, &v, &q); err != nil {
			return nil, nil, nil, explain(db.path, "reading the board", err)
		}
		engines, versions, quants = add(engines, e), add(versions, v), add(quants, q)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, explain(db.path, "reading the board", err)
	}
	return engines, versions, quants, nil
}

// boardChoicesQuery is BoardChoices' query of configuration c and its
// arguments.
func boardChoicesQuery(c board.Config) (string, []any) {
	f := BoardFilter{Config: c}
	w, args := f.where("")
	return "SELECT DISTINCT engine, engine_version, quant FROM board WHERE " + w, args
}

// BoardConfig is one configuration on the board, with how much it holds.
type BoardConfig struct {
	board.Config
	Runs     int       `json:"runs"`
	Models   int       `json:"models"`
	Machines int       `json:"machines"`
	Latest   time.Time `json:"latest"` // the newest run's start
}

// BoardConfigs lists the board's configurations, the most runs first.
func (db *DB) BoardConfigs(ctx context.Context) ([]BoardConfig, error) {
	if db.version < boardSchema {
		return nil, ErrOldSchema
	}
	if err := db.indexBoard(ctx); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, boardConfigsQuery)
	if err != nil {
		return nil, explain(db.path, "reading the board", err)
	}
	defer rows.Close()
	out := []BoardConfig{}
	for rows.Next() {
		var c BoardConfig
		var latest int64
		if err := rows.Scan(&c.Suite, &c.Scenarios, &c.Load, &c.Profile, &c.Runs, &c.Models, &c.Machines, &latest); err != nil {
			return nil, explain(db.path, "reading the board", err)
		}
		c.Latest = time.Unix(0, latest).UTC()
		out = append(out, c)
	}
	return out, explain(db.path, "reading the board", rows.Err())
}

// boardConfigsQuery is BoardConfigs' query.
const boardConfigsQuery = `SELECT suite, scenarios, load, profile, count(DISTINCT run_id), count(DISTINCT model), count(DISTINCT machine), max(started)
		FROM board GROUP BY suite, scenarios, load, profile ORDER BY count(DISTINCT run_id) DESC, max(started) DESC`

// nullable is *v, or nil (NULL).
func nullable(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
