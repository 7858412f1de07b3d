package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPerfResults100k measures the Results page of a stored run of 100,000
// requests: from navigation start until the page has drawn its charts and
// table (window.__flperfRendered), API answers included. The target is
// under 1 s; the figures are printed (go test -run TestPerf -v), not
// asserted, because this machine's load varies.
func TestPerfResults100k(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a run of 100,000 records")
	}
	b := newBrowser(t, 1280, 800)
	db := filepath.Join(t.TempDir(), "perf.db")
	big := storedRun{id: "perf-100k", n: 100_000, chunks: 50, models: []string{"sim-fast", "sim-slow"}, scenarios: []string{"Simple Q&A - Short", "Code Generation"}}
	begin := time.Now()
	big.write(t, db)
	t.Logf("stored %d records (%d stream events each) in %v", big.n, big.chunks, time.Since(begin).Round(time.Millisecond))
	a := startApp(t, db)
	t.Logf("PERF app start (cli.Main called → URL line printed): %v", a.started.Round(100*time.Microsecond))

	// The first visit finds the server's caches cold: it computes the
	// summary, the distribution and the samples from the 100,000 records.
	var times, summary []float64
	for i := range 3 {
		b.open(t, a.url+"runs/perf-100k", "results")
		b.waitFor(t, 60*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
		ms := eval[float64](t, b, `window.__flperfRendered`)
		sum := eval[float64](t, b, `window.__flperfSummaryRendered`)
		times, summary = append(times, ms), append(summary, sum)
		t.Logf("PERF Results page, 100,000 requests, visit %d (%s server caches): summary charts and table drawn %.0f ms after navigation start, everything (distribution too) %.0f ms",
			i+1, []string{"cold", "warm", "warm"}[i], sum, ms)
	}

	// The API alone, on a second app over the same database (cold caches).
	a2 := startApp(t, db)
	for _, path := range []string{"/runs/perf-100k", "/runs/perf-100k/distribution?metric=e2e_ms&bins=40", "/runs/perf-100k/samples?n=20"} {
		for i := range 2 {
			start := time.Now()
			res, err := http.Get(a2.url + "api/v1" + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("GET %s: %s", path, res.Status)
			}
			t.Logf("PERF API GET %s: %v (%s)", path, time.Since(start).Round(100*time.Microsecond), []string{"cold", "cached"}[i])
		}
	}
	t.Logf("PERF Results page, 100,000 requests (target < 1000 ms): everything drawn in %.0f ms cold, %.0f ms warm; summary charts and table in %.0f ms cold, %.0f ms warm",
		times[0], min(times[1], times[2]), summary[0], min(summary[1], summary[2]))
	checkCharts(t, b, 9)
	checkTable(t, b, a.run(t, big.id))
	b.noErrors(t, "results (100k)")
}

// TestPerfFirstLoad measures what a first visit transfers (every request's
// encoded bytes: HTML, CSS, modules, Chart.js and the API's JSON, gzip on)
// with an empty cache, for the Dashboard and for the Results page. Target
// (and assertion): under 500 KB.
func TestPerfFirstLoad(t *testing.T) {
	db := filepath.Join(t.TempDir(), "first.db")
	storedRun{id: "first-load", n: 400, chunks: 20, models: []string{"sim-fast", "sim-slow"}, scenarios: []string{"chat", "code"}}.write(t, db)
	a := startApp(t, db)
	for _, p := range []struct{ path, page string }{{"", "dashboard"}, {"runs/first-load", "results"}} {
		b := newBrowser(t, 1280, 800) // a fresh profile: nothing cached
		b.resetTransfer()
		b.open(t, a.url+p.path, p.page)
		if p.page == "results" {
			b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
		}
		time.Sleep(500 * time.Millisecond) // late requests (engines, samples) finish
		total, per := b.transferred()
		var lines []string
		for u, n := range per {
			lines = append(lines, fmt.Sprintf("%8.0f  %s", n, strings.TrimPrefix(u, strings.TrimSuffix(a.url, "/"))))
		}
		slices.Sort(lines)
		t.Logf("PERF first load of /%s: %.1f KB transferred in %d requests:\n%s", p.path, total/1000, len(per), strings.Join(lines, "\n"))
		if total > 500_000 {
			t.Errorf("first load of /%s transferred %.0f bytes, budget 500 KB", p.path, total)
		}
		// The measurement must have seen the page's own files.
		want := []string{"app.js", "app.css", "pages/" + p.page + ".js"}
		if p.page == "results" {
			want = append(want, "vendor/chart.umd.min.js")
		}
		for _, w := range want {
			seen := false
			for u, n := range per {
				seen = seen || (strings.HasSuffix(u, "/"+w) && n > 0)
			}
			if !seen {
				t.Errorf("first load of /%s: no transfer counted for %s: the measurement missed requests", p.path, w)
			}
		}
		b.noErrors(t, p.page)
	}
}
