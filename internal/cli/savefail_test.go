package cli

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// failingDB creates the database at a fresh path and makes its writes fail
// as on a full disk once runs hold more than records records (the record
// writer's commits then fail; nothing else does) and, with finishToo, every
// run's final save as well (its summaries cannot be written).
func failingDB(t *testing.T, records int, finishToo bool) string {
	t.Helper()
	db := newDB(t)
	wantCode(t, run(t, "runs", "--db", db), ExitOK) // creates and migrates it
	sdb, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	stmts := []string{fmt.Sprintf(`CREATE TRIGGER full_records BEFORE UPDATE OF records ON runs WHEN NEW.records > %d
		BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END`, records)}
	if finishToo {
		stmts = append(stmts, `CREATE TRIGGER full_summaries BEFORE INSERT ON summaries BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END`)
	}
	for _, s := range stmts {
		if _, err := sdb.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestRunStopsWhenResultsCannotBeSaved runs 2,000 requests (25 s of work)
// on a database whose writes start failing after 30 records: the run stops
// at once, says so on stderr, prints the records of the requests that were
// in flight, and prints the status the database holds (interrupted), also
// when the final save fails too.
func TestRunStopsWhenResultsCannotBeSaved(t *testing.T) {
	s := startTestSim(t, slowProfile())
	suitePath := writeFile(t, "one.json", oneSuite)
	for _, finishToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("final save fails: %v", finishToo), func(t *testing.T) {
			db := failingDB(t, 30, finishToo)
			o := run(t, "run", "--endpoint", s.base, "--model", "slow", "--suite", suitePath, "--requests", "2000",
				"--concurrency", "4", "--warmup", "0", "--db", db, "--format", "json")
			wantCode(t, o, ExitFailure)
			if !strings.Contains(o.stderr, "flperf: results can no longer be saved") || !strings.Contains(o.stderr, "disk is full") {
				t.Errorf("stderr does not say at once that saving failed:\n%s", o.stderr)
			}
			doc := decodeJSON(t, o.stdout)
			printed := int(num(t, doc, "records"))
			if st := str(t, doc, "status"); st != "interrupted" {
				t.Errorf("printed status %q, want interrupted", st)
			}
			if printed >= 2000 || printed < 30 {
				t.Errorf("%d requests printed: the run did not stop at the failure", printed)
			}
			if ws, _ := json.Marshal(doc["warnings"]); !strings.Contains(string(ws), "could no longer be saved") {
				t.Errorf("printed warnings %s do not say why the run stopped", ws)
			}
			runs := storedRuns(t, db)
			if len(runs) != 1 {
				t.Fatalf("%d runs stored", len(runs))
			}
			stored := int(num(t, runs[0], "records"))
			if st := str(t, runs[0], "status"); st != "interrupted" {
				t.Errorf("stored status %q, printed interrupted", st)
			}
			if stored > 30 || stored > printed {
				t.Errorf("%d records stored, %d printed: want at most the 30 the database took", stored, printed)
			}
			t.Logf("%d requests printed, %d stored", printed, stored)
		})
	}
}

// TestAppRunStopsWhenResultsCannotBeSaved is the same in the app: the run
// stops, its log says why, and its status, in the live stream and in every
// answer after, is the stored one (interrupted), also when the final save
// fails too.
func TestAppRunStopsWhenResultsCannotBeSaved(t *testing.T) {
	s := startTestSim(t, slowProfile())
	for _, finishToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("final save fails: %v", finishToo), func(t *testing.T) {
			db := failingDB(t, 30, finishToo)
			app, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", db)
			defer stop()
			post := func(path string, body any) map[string]any {
				t.Helper()
				b, _ := json.Marshal(body)
				res, err := http.Post(app+path, "application/json", bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var v struct {
					Data map[string]any `json:"data"`
				}
				if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusCreated {
					t.Fatalf("POST %s: %d %v", path, res.StatusCode, err)
				}
				return v.Data
			}
			eng := post("api/v1/engines", map[string]any{"endpoint": s.base})
			started := post("api/v1/runs", map[string]any{"engine": eng["id"], "models": []string{"slow"}, "suite": "default",
				"scenarios": []string{"Simple Q&A - Short"}, "requests": 2000, "concurrency": 4, "warmup": 0, "sample_interval": "off"})
			id := started["id"].(string)

			// The live stream: its status event is the stored status.
			res, err := http.Get(app + "api/v1/runs/" + id + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var state, message string
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			event := ""
			for sc.Scan() && event != "end" {
				line := sc.Text()
				if e, ok := strings.CutPrefix(line, "event: "); ok {
					event = e
				}
				if d, ok := strings.CutPrefix(line, "data: "); ok && event == "status" {
					var st statusData
					if err := json.Unmarshal([]byte(d), &st); err == nil {
						state, message = st.State, st.Message
					}
				}
			}
			if state != "interrupted" || !strings.Contains(message, "could not") && !strings.Contains(message, "could no longer") {
				t.Errorf("the stream's last status: %q %q; want interrupted, saying saving failed", state, message)
			}

			code, body := appDo(t, http.MethodGet, app+"api/v1/runs/"+id)
			var got struct {
				Data struct {
					Run struct {
						Status  string `json:"status"`
						Records int    `json:"records"`
					} `json:"run"`
					Log []struct {
						Message string `json:"message"`
					} `json:"log"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
				t.Fatalf("GET the run: %d %v", code, err)
			}
			if r := got.Data.Run; r.Status != "interrupted" || r.Records > 30 {
				t.Errorf("stored: %s with %d records; want interrupted with at most 30", r.Status, r.Records)
			}
			logText, _ := json.Marshal(got.Data.Log)
			if !strings.Contains(string(logText), "results can no longer be saved") {
				t.Errorf("the run's log does not say saving failed: %s", logText)
			}
		})
	}
}

// statusData is the data of an SSE status event.
type statusData struct {
	State   string `json:"state"`
	Message string `json:"message"`
}
