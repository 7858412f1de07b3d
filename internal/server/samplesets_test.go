package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"
)

// invalidateSummaries makes the store recompute run id's summary on every
// read, as for a run whose summaries another flperf build stored.
func invalidateSummaries(t *testing.T, a *testApp, id string) {
	t.Helper()
	driver, q := "sqlite", "UPDATE runs SET summary_build = 'flperf v0 go1' WHERE id = ?"
	if onPostgres {
		driver, q = "pgx", "UPDATE runs SET summary_build = 'flperf v0 go1' WHERE id = $1"
	}
	db, err := sql.Open(driver, a.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, id); err != nil {
		t.Fatal(err)
	}
}

// sameSets fails unless two sample sets hold the same samples.
func sameSets(t *testing.T, what string, got, want *sampleSet) {
	t.Helper()
	if !reflect.DeepEqual(got.models, want.models) || len(got.byMetric) != len(want.byMetric) {
		t.Fatalf("%s: models %v, %d metrics; want %v, %d", what, got.models, len(got.byMetric), want.models, len(want.byMetric))
	}
	for key := range want.byMetric {
		for i := range want.models {
			if g, w := got.metric(key, i), want.metric(key, i); !reflect.DeepEqual(g, w) || len(w) == 0 {
				t.Fatalf("%s: %s of %s: %d samples, want %d (not empty)", what, key, want.models[i], len(g), len(w))
			}
		}
	}
}

// When the store recomputes a run's summary, the samples of its
// distributions are collected in the same pass and kept: the same samples
// as a scan of their own gives. A run read from its stored summaries
// leaves that to the scan.
func TestResultKeepsTheSamplesOfARecomputation(t *testing.T) {
	a := newApp(t, Options{})
	ctx := context.Background()
	storeRun(t, a.db, "20261127-120000-dddddd", 3000, 6, 50)
	storeRun(t, a.db, "20261127-120000-eeeeee", 300, 6, 50)
	invalidateSummaries(t, a, "20261127-120000-dddddd")

	if _, err := a.s.result(ctx, "20261127-120000-dddddd"); err != nil {
		t.Fatal(err)
	}
	kept, ok := a.s.samples.sets.get("20261127-120000-dddddd")
	if !ok {
		t.Fatal("the recomputation's samples were not kept")
	}
	scanned, err := a.s.scanSamples(ctx, "20261127-120000-dddddd", false)
	if err != nil {
		t.Fatal(err)
	}
	if !kept.finished || !scanned.finished {
		t.Error("the sets of a finished run are not marked finished")
	}
	sameSets(t, "recomputation vs scan", kept, scanned)

	if _, err := a.s.result(ctx, "20261127-120000-eeeeee"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.s.samples.sets.get("20261127-120000-eeeeee"); ok {
		t.Error("samples kept without a scan for a run read from its stored summaries")
	}
	// Deleting the run forgets everything.
	a.data(http.MethodDelete, "/api/v1/runs/20261127-120000-dddddd", nil, http.StatusOK, nil)
	if _, ok := a.s.samples.sets.get("20261127-120000-dddddd"); ok {
		t.Error("samples of a deleted run are kept")
	}
	if _, ok := a.s.cache.get("run\x0020261127-120000-dddddd"); ok {
		t.Error("the result of a deleted run is kept")
	}
}

// The Results page's requests, all at once on a cold app, give what they
// give one at a time, whether the run's summaries are stored or
// recomputed.
func TestResultsRequestsTogether(t *testing.T) {
	a := newApp(t, Options{})
	storeRun(t, a.db, "20261127-120000-ffffff", 2000, 5, 50)
	storeRun(t, a.db, "20261127-120000-gggggg", 2000, 5, 50)
	invalidateSummaries(t, a, "20261127-120000-gggggg")
	paths := func(id string) []string {
		p := "/api/v1/runs/" + id
		return []string{p, p + "/distribution?metric=e2e_ms&bins=40", p + "/distribution?metric=ttft_ms&bins=7",
			p + "/distribution?metric=itl_ms", p + "/samples?n=20", p + "/samples?n=5&model=beta"}
	}
	for _, id := range []string{"20261127-120000-ffffff", "20261127-120000-gggggg"} {
		got := make([][3]json.RawMessage, len(paths(id)))
		var wg sync.WaitGroup
		for i, p := range paths(id) {
			for k := range 3 {
				wg.Go(func() { a.data(http.MethodGet, p, nil, http.StatusOK, &got[i][k]) })
			}
		}
		wg.Wait()
		// A cold app, one request at a time; the run itself is compared
		// apart, as its log grows with every request.
		fresh := newApp(t, Options{DB: a.db})
		for i, p := range paths(id)[1:] {
			var want json.RawMessage
			fresh.data(http.MethodGet, p, nil, http.StatusOK, &want)
			for _, g := range got[i+1] {
				if string(g) != string(want) {
					t.Errorf("%s: together %.200s…, alone %.200s…", p, g, want)
				}
			}
		}
		var a1, a2 struct {
			Run json.RawMessage `json:"run"`
		}
		a.data(http.MethodGet, paths(id)[0], nil, http.StatusOK, &a1)
		fresh.data(http.MethodGet, paths(id)[0], nil, http.StatusOK, &a2)
		if string(a1.Run) != string(a2.Run) || len(a1.Run) < 1000 {
			t.Errorf("%s: the run differs between apps", id)
		}
	}
}
