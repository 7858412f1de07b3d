package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/store"
)

// Issue 14's scale target: a server holding 10,000 runs and 100 million
// request records answers the run list and the leaderboard in under
// 200 ms, from stored summaries. TestScale measures it; it is opt-in
// (minutes and gigabytes):
//
//	FLPERF_SCALE=1 go test -count=1 -run '^TestScale$' -v -timeout 0 ./internal/server/
//
// FLPERF_SCALE_RUNS (default 10000) and FLPERF_SCALE_RECORDS (default
// 100000000) set the size; FLPERF_SCALE_DIR the directory of the SQLite
// file (default the test's temp dir, removed after); with
// FLPERF_TEST_POSTGRES set, the same runs again on PostgreSQL.
// TestListAndBoardNeverReadRecords (internal/store) is why the figures do
// not grow with the records: neither query's plan reads them.
const scaleEnv = "FLPERF_SCALE"

// scaleModels is how many models the runs are spread over (the run list's
// filter by model finds one run in scaleModels).
const scaleModels = 50

func scaleSize(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// TestScale fills a database with FLPERF_SCALE_RUNS runs whose records
// total FLPERF_SCALE_RECORDS rows, generated in SQL from one real run of
// the simulated engine (its records, summaries and board rows as the
// store wrote them, copied with new run ids, start times and models), and
// times GET /api/v1/runs (first page; filtered by a model) and GET
// /api/v1/board through the HTTP handler: each the median of 9 calls,
// after one.
func TestScale(t *testing.T) {
	if os.Getenv(scaleEnv) == "" {
		t.Skipf("set %s=1 to fill a database with 10,000 runs and 100 million records and time the run list and the board (minutes, gigabytes)", scaleEnv)
	}
	runs := scaleSize(t, "FLPERF_SCALE_RUNS", 10_000)
	records := scaleSize(t, "FLPERF_SCALE_RECORDS", 100_000_000)
	dir := os.Getenv("FLPERF_SCALE_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir, _ = os.MkdirTemp(dir, "flperf-scale-")
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "scale.db")
	a := newApp(t, Options{DB: openDB(t, path)})
	tmpl := a.startRun(runBody(20, nil))
	if st := a.waitRun(tmpl); st != "completed" {
		t.Fatalf("template run %s", st)
	}
	raw, err := sql.Open(map[bool]string{false: "sqlite", true: "pgx"}[onPostgres], dbLocation(t, path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	f := &scaleFill{t: t, db: raw, pg: onPostgres, tmpl: tmpl, runs: runs, perRun: max(records/runs, 1)}
	start := time.Now()
	f.fill()
	t.Logf("filled in %v: %d runs, %d records (%s)", time.Since(start).Round(time.Second), f.count("runs"), f.count("records"), map[bool]string{false: "SQLite", true: "PostgreSQL"}[onPostgres])
	if !onPostgres {
		if fi, err := os.Stat(path); err == nil {
			t.Logf("SQLite file: %.1f GB", float64(fi.Size())/1e9)
		}
	}

	get := func(path string, check func(data json.RawMessage)) time.Duration {
		var ds []time.Duration
		for i := range 10 {
			t0 := time.Now()
			res, err := http.Get(a.url + path)
			if err != nil {
				t.Fatal(err)
			}
			var env envelope
			err = json.NewDecoder(res.Body).Decode(&env)
			res.Body.Close()
			d := time.Since(t0)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
			}
			if i == 0 {
				check(env.Data)
				continue // the first call warms the caches
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	list := func(want int, model string) func(json.RawMessage) {
		return func(data json.RawMessage) {
			var rs []store.RunInfo
			if err := json.Unmarshal(data, &rs); err != nil {
				t.Fatal(err)
			}
			if len(rs) != want {
				t.Fatalf("%d runs listed, want %d", len(rs), want)
			}
			for _, r := range rs {
				if model != "" && !slices.Contains(r.Models, model) || r.Requests == nil {
					t.Fatalf("run %s: models %v, requests %v", r.ID, r.Models, r.Requests)
				}
			}
		}
	}
	page := get("/api/v1/runs", list(int(min(runs, 100)), ""))
	byModel := get("/api/v1/runs?model=model-7", list(int(min(runs/scaleModels, 100)), "model-7"))
	boardT := get("/api/v1/board", func(data json.RawMessage) {
		var b struct {
			Configs []store.BoardConfig `json:"configs"`
			Matrix  struct {
				Models []json.RawMessage `json:"models"`
			} `json:"matrix"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Configs) != 1 || int64(b.Configs[0].Runs) != runs || len(b.Matrix.Models) != int(min(runs, scaleModels)) {
			t.Fatalf("board: %d configurations (%+v), %d models", len(b.Configs), b.Configs, len(b.Matrix.Models))
		}
	})
	t.Logf("median of 9: GET /api/v1/runs %v, GET /api/v1/runs?model=model-7 %v, GET /api/v1/board %v",
		page.Round(10*time.Microsecond), byModel.Round(10*time.Microsecond), boardT.Round(10*time.Microsecond))
}

// scaleFill generates TestScale's rows in SQL, from the template run's.
type scaleFill struct {
	t            *testing.T
	db           *sql.DB
	pg           bool
	tmpl         string
	runs, perRun int64
}

// series is the SQL of a table k(v) of the integers lo to hi.
func (f *scaleFill) series(name string, lo, hi int64) string {
	if f.pg {
		return fmt.Sprintf("generate_series(%d, %d) AS %s(v)", lo, hi, name)
	}
	return fmt.Sprintf("(WITH RECURSIVE s(v) AS (SELECT %d UNION ALL SELECT v + 1 FROM s WHERE v < %d) SELECT v FROM s) AS %s", lo, hi, name)
}

// id is the SQL of the id of copy k.v of the template run.
func (f *scaleFill) id(k string) string {
	if f.pg {
		return "('" + f.tmpl + "-' || lpad(" + k + ".v::text, 5, '0'))"
	}
	return "printf('%s-%05d', '" + f.tmpl + "', " + k + ".v)"
}

// model is the SQL of copy k.v's model, in place of the template's
// sim-fast inside text column col.
func (f *scaleFill) model(col, k string) string {
	return "replace(" + col + ", 'sim-fast', 'model-' || (" + k + ".v % " + strconv.Itoa(scaleModels) + "))"
}

// columns lists table's columns.
func (f *scaleFill) columns(table string) []string {
	q := "SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid"
	if f.pg {
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '" + table + "' ORDER BY ordinal_position"
	}
	rows, err := f.db.Query(q)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			f.t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		f.t.Fatalf("table %s: no columns", table)
	}
	return cols
}

// copyRows copies table's rows of the template run (alias t) for each
// copy in from, each column as it is unless set names its expression.
func (f *scaleFill) copyRows(table, from, where string, set map[string]string) {
	cols := f.columns(table)
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = "t." + c
		if e, ok := set[c]; ok {
			exprs[i] = e
		}
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(exprs, ", ") + " FROM " + from + " WHERE " + where
	if _, err := f.db.Exec(q); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *scaleFill) count(table string) int64 {
	var n int64
	if err := f.db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// fill copies the template run runs-1 times (copy k starts k minutes
// later, benchmarks model-(k%50)), each with perRun records cycling
// through the template's, and gives the template perRun records too.
func (f *scaleFill) fill() {
	tmplRecs := f.count("records")
	q := "'" + f.tmpl + "'"
	for lo := int64(1); lo < f.runs; lo += 1000 {
		hi := min(lo+999, f.runs-1)
		k := f.series("k", lo, hi)
		f.copyRows("runs", k+" CROSS JOIN runs t", "t.id = "+q, map[string]string{
			"id": f.id("k"), "started": "t.started + k.v * 60000000000", "ended": "t.ended + k.v * 60000000000",
			"config": f.model("t.config", "k"), "records": strconv.FormatInt(f.perRun, 10)})
		f.copyRows("summaries", k+" CROSS JOIN summaries t", "t.run_id = "+q, map[string]string{
			"run_id": f.id("k"), "model": f.model("t.model", "k"), "json": f.model("t.json", "k")})
		f.copyRows("board", k+" CROSS JOIN board t", "t.run_id = "+q, map[string]string{
			"run_id": f.id("k"), "model": f.model("t.model", "k"), "started": "t.started + k.v * 60000000000"})
	}
	// The records, a batch of runs per statement: copy k's record i is
	// the template's record i % tmplRecs.
	step := max(1, 2_000_000/f.perRun)
	last := time.Now()
	for lo := int64(1); lo < f.runs; lo += step {
		hi := min(lo+step-1, f.runs-1)
		f.copyRows("records", f.series("k", lo, hi)+" CROSS JOIN "+f.series("i", tmplRecs, f.perRun-1)+" JOIN records t ON t.run_id = "+q+" AND t.seq = i.v % "+strconv.FormatInt(tmplRecs, 10),
			"1 = 1", map[string]string{"run_id": f.id("k"), "seq": "i.v", "model": f.model("t.model", "k")})
		f.copyRows("records", f.series("k", lo, hi)+" CROSS JOIN records t", "t.run_id = "+q+" AND t.seq < "+strconv.FormatInt(min(tmplRecs, f.perRun), 10),
			map[string]string{"run_id": f.id("k"), "model": f.model("t.model", "k")})
		if time.Since(last) > time.Minute {
			f.t.Logf("records of runs 1 to %d of %d stored", hi, f.runs-1)
			last = time.Now()
		}
	}
	// The template's own: up to perRun.
	if tmplRecs < f.perRun {
		f.copyRows("records", f.series("i", tmplRecs, f.perRun-1)+" JOIN records t ON t.run_id = "+q+" AND t.seq = i.v % "+strconv.FormatInt(tmplRecs, 10),
			"1 = 1", map[string]string{"seq": "i.v"})
	}
	for _, u := range []string{ // the template is copy 0: model-0
		"UPDATE runs SET records = (SELECT count(*) FROM records WHERE run_id = runs.id), config = replace(config, 'sim-fast', 'model-0') WHERE id = " + q,
		"UPDATE summaries SET model = replace(model, 'sim-fast', 'model-0'), json = replace(json, 'sim-fast', 'model-0') WHERE run_id = " + q,
		"UPDATE board SET model = replace(model, 'sim-fast', 'model-0') WHERE run_id = " + q,
		"UPDATE records SET model = replace(model, 'sim-fast', 'model-0') WHERE run_id = " + q,
	} {
		if _, err := f.db.Exec(u); err != nil {
			f.t.Fatalf("%s: %v", u, err)
		}
	}
	if _, err := f.db.Exec("ANALYZE"); err != nil {
		f.t.Fatal(err)
	}
}
