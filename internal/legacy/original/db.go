package original

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	// The pure-Go SQLite driver flperf's own store uses.
	_ "modernc.org/sqlite"
)

// jsonColumns hold JSON text in the SQLite store: they are read as the
// JSON values they encode, so one parser reads both stores.
var jsonColumns = map[string]bool{"model_ids": true, "config": true, "hardware_info": true, "raw_data": true}

// readDB reads the original's SQLite store, opened read-only: each row
// becomes the object the JSON store would hold, named by table and id in
// errors.
func readDB(path string) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro"}
	if !strings.HasPrefix(u.Path, "/") { // Windows: file:///C:/…
		u.Path = "/" + u.Path
	}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin() // one snapshot of every table
	if err != nil {
		return nil, fmt.Errorf("%s: opening read-only: %v", path, err)
	}
	defer tx.Rollback()
	for _, t := range []string{"benchmark_runs", "benchmark_results"} {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, t).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: %w: a SQLite database without the table %s (is it flperf's own database? `flperf import` takes the original's benchmarks.db)", path, ErrNotOriginal, t)
		}
	}
	ms := models{}
	var hasModels int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'models'`).Scan(&hasModels); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if hasModels > 0 {
		rows, err := tableRows(tx, "models", "", MaxRuns)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, m := range rows {
			id, err := m.str("id", true)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			alias, err := m.str("alias", false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			catalog, err := m.str("model_id", false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			ms[id] = [2]string{alias, catalog}
		}
	}
	runs, err := tableRows(tx, "benchmark_runs", "", MaxRuns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	file := &File{Format: SQLite}
	known := map[string]bool{}
	for _, o := range runs {
		id, err := o.str("id", true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		known[id] = true
		rows, err := tableRows(tx, "benchmark_results", id, MaxResultsPerRun)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r, err := buildRun(SQLite, id, o, rows, ms)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		file.Runs = append(file.Runs, r)
	}
	var orphans int
	if err := tx.QueryRow(`SELECT count(*) FROM benchmark_results WHERE run_id IS NULL OR run_id NOT IN (SELECT id FROM benchmark_runs)`).Scan(&orphans); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	file.Orphans = orphans
	sortRuns(file.Runs)
	return file, nil
}

// tableRows reads a table (benchmark_results: one run's rows) as objects,
// in rowid order, at most max rows.
func tableRows(tx *sql.Tx, table, runID string, max int) ([]object, error) {
	q := `SELECT * FROM ` + table + ` ORDER BY rowid LIMIT ?`
	args := []any{max + 1}
	if table == "benchmark_results" {
		q = `SELECT * FROM benchmark_results WHERE run_id = ? ORDER BY rowid LIMIT ?`
		args = []any{runID, max + 1}
	}
	rows, err := tx.Query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []object
	for n := 0; rows.Next(); n++ {
		if n == max {
			return nil, fmt.Errorf("table %s: more than the %d rows an import reads", table, max)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("table %s, row %d: %v", table, n+1, err)
		}
		o := object{m: make(map[string]json.RawMessage, len(cols))}
		var id string
		for i, c := range cols {
			if c == "id" {
				id = fmt.Sprint(vals[i])
			}
		}
		o.path = fmt.Sprintf("table %s, row id %s", table, strconv.Quote(clip(id)))
		for i, c := range cols {
			v, err := columnJSON(vals[i], jsonColumns[c])
			if err != nil {
				return nil, &FieldError{o.at(c), err.Error()}
			}
			o.m[c] = v
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table %s: %v", table, err)
	}
	return out, nil
}

// columnJSON is a column's value as JSON: numbers as numbers, text as a
// string (or, for the JSON columns, the JSON it holds).
func columnJSON(v any, isJSON bool) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case int64:
		return json.RawMessage(strconv.FormatInt(x, 10)), nil
	case float64:
		return json.Marshal(x) // NaN and ±Inf: an error
	case []byte:
		v = string(x)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("unexpected value of type %T", v)
	}
	if isJSON {
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("want JSON text, got %s", clip(strconv.Quote(s)))
		}
		return json.RawMessage(s), nil
	}
	return json.Marshal(s)
}
