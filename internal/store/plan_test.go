package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"flperf/internal/board"
	"flperf/internal/result"
)

// summaryTables are the only tables the run list and the board may read:
// they answer from stored summaries (issue 14's scale target), never from
// the records, whose count grows with every request (run_origins holds
// one row per pushed run: where the run list's origin column comes from).
var summaryTables = []string{"board", "run_origins", "runs", "summaries"}

// planQuery is one query of the run list or the board, as its method
// runs it.
type planQuery struct {
	name string
	sql  string
	args []any
}

// listAndBoardQueries are the queries GET /api/v1/runs (each filter, a
// page and no limit) and GET /api/v1/board (configurations, matrix cells,
// trend rows, filter choices, the indexing of older runs) run.
func listAndBoardQueries(db *DB, cfg board.Config) []planQuery {
	var qs []planQuery
	for _, f := range []Filter{
		{Limit: 100},
		{},
		{Limit: 100, Model: "m1"},
		{Limit: 100, Engine: "sim"},
		{Limit: 100, Suite: "default"},
		{Limit: 100, Status: "completed"},
		{Limit: 50, Model: "m2", Engine: "sim", Suite: "default", Status: "completed"},
	} {
		q, args := db.runsQuery(f)
		qs = append(qs, planQuery{fmt.Sprintf("runs %+v", f), q, args})
	}
	for _, f := range []BoardFilter{
		{Config: cfg},
		{Config: cfg, Model: "m1", Engine: "sim", EngineVersion: "0.1", Machine: "x"},
		{Config: cfg, Since: t0, Until: t0.AddDate(1, 0, 0)},
		{Machine: "x", Model: "m1"},
	} {
		q, args := boardRowsQuery(f)
		qs = append(qs, planQuery{fmt.Sprintf("board rows %+v", f), q, args})
		q, args = boardCellsQuery(f)
		qs = append(qs, planQuery{fmt.Sprintf("board cells %+v", f), q, args})
	}
	q, args := boardChoicesQuery(cfg)
	qs = append(qs, planQuery{"board choices", q, args})
	qs = append(qs, planQuery{"board configurations", boardConfigsQuery, nil})
	qs = append(qs, planQuery{"runs to index", unindexedQuery, []any{string(result.Completed), 200}})
	qs = append(qs, planQuery{"running runs (MarkStale, on every list)", db.runningQuery(), []any{string(Running)}})
	return qs
}

// TestListAndBoardNeverReadRecords proves that the run list and the board
// answer from stored summaries: the plan of each of their queries, on
// SQLite (the tables its bytecode opens) and on PostgreSQL (the relations
// of EXPLAIN), reads runs, summaries and board only (tables or their
// indexes), never records, record_text or any other table.
func TestListAndBoardNeverReadRecords(t *testing.T) {
	db := openTest(t)
	for i := range 3 {
		writeRun(t, db, fmt.Sprintf("20260301-12000%d-00000000000000%02d", i, i), makeRecords(40, 3))
	}
	cfg := fillBoard(t, db, 300)
	ctx := context.Background()
	if _, err := db.sql.ExecContext(ctx, "ANALYZE"); err != nil { // the planner's statistics, as a served store has them
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM records"); n != 120 {
		t.Fatalf("%d records stored, want 120", n)
	}
	for _, q := range listAndBoardQueries(db, cfg) {
		var tables []string
		if db.pg != nil {
			tables = pgPlanTables(t, db, q)
		} else {
			tables = sqlitePlanTables(t, db, q)
		}
		if len(tables) == 0 {
			t.Errorf("%s: the plan reads no table", q.name)
		}
		if db.pg == nil && strings.HasPrefix(q.name, "running runs") {
			if plan := sqliteQueryPlan(t, db, q); !strings.Contains(plan, "USING INDEX runs_board") {
				t.Errorf("%s: plan %q, want a search of index runs_board", q.name, plan)
			}
		}
		for _, tb := range tables {
			if !slices.Contains(summaryTables, tb) {
				t.Errorf("%s: the plan reads table %s (only %v allowed)", q.name, tb, summaryTables)
			}
		}
	}
}

// sqlitePlanTables lists the tables whose b-trees (the table's or an
// index's) q's SQLite bytecode opens.
func sqlitePlanTables(t *testing.T, db *DB, q planQuery) []string {
	t.Helper()
	ctx := context.Background()
	roots := map[int64]string{} // root page → its table
	rows, err := db.sql.QueryContext(ctx, "SELECT rootpage, tbl_name FROM sqlite_master WHERE rootpage > 0")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var page int64
		var name string
		if err := rows.Scan(&page, &name); err != nil {
			t.Fatal(err)
		}
		roots[page] = name
	}
	rows.Close()
	if _, ok := roots[0]; ok || len(roots) == 0 || !slices.Contains(mapValues(roots), "records") {
		t.Fatalf("root pages %v: records missing", roots)
	}
	rows, err = db.sql.QueryContext(ctx, "EXPLAIN "+q.sql, q.args...)
	if err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var addr, p1, p2, p3, p5 int64
		var op string
		var p4, comment any
		if err := rows.Scan(&addr, &op, &p1, &p2, &p3, &p4, &p5, &comment); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if op != "OpenRead" && op != "OpenWrite" && op != "ReopenIdx" {
			continue
		}
		name, ok := roots[p2]
		if !ok {
			t.Errorf("%s: opens root page %d, of no table", q.name, p2)
			continue
		}
		seen[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	return sortedKeys(seen)
}

// sqliteQueryPlan is q's EXPLAIN QUERY PLAN, its lines joined by "; ".
func sqliteQueryPlan(t *testing.T, db *DB, q planQuery) string {
	t.Helper()
	rows, err := db.sql.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ")
}

// pgPlanTables lists the relations of q's PostgreSQL plan (EXPLAIN's
// "Relation Name": each table read, by a scan of it or of its index).
func pgPlanTables(t *testing.T, db *DB, q planQuery) []string {
	t.Helper()
	var plan string
	if err := db.sql.QueryRowContext(context.Background(), "EXPLAIN (FORMAT JSON) "+q.sql, q.args...).Scan(&plan); err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	var v any
	if err := json.Unmarshal([]byte(plan), &v); err != nil {
		t.Fatalf("%s: plan %q: %v", q.name, plan, err)
	}
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["Relation Name"].(string); ok {
				seen[name] = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapValues(m map[int64]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
