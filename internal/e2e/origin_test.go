package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/store"
)

// TestPushedRunOrigin: the Results page of a run pushed from another
// machine says where it came from in a small line of its header, as the
// run API answers it (the host's text shown as text, never as markup);
// a run made here has no such line.
func TestPushedRunOrigin(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "e2e.db")
	pushed := storedRun{id: "e2e-pushed", n: 20, chunks: 4, models: []string{"m1"}, scenarios: []string{"chat"}}
	pushed.write(t, dbPath)
	here := storedRun{id: "e2e-here", n: 20, chunks: 4, models: []string{"m1"}, scenarios: []string{"chat"}}
	here.write(t, dbPath)
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := db.RunDigest(ctx, pushed.id)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	if err := db.SetOrigin(ctx, pushed.id, st.Digest, store.PushOrigin{Via: "push", Host: "lab-laptop<b>7</b>", User: "alice", Remote: "10.0.0.7", At: at}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	a := startApp(t, dbPath)
	var doc struct {
		Origin *store.PushOrigin `json:"origin"`
	}
	a.get(t, "/runs/"+pushed.id, &doc)
	if doc.Origin == nil || doc.Origin.Host != "lab-laptop<b>7</b>" || doc.Origin.User != "alice" || !doc.Origin.At.Equal(at) {
		t.Fatalf("GET /runs/%s: origin %+v", pushed.id, doc.Origin)
	}
	b := newBrowser(t, 1280, 800)
	b.open(t, a.url+"runs/"+pushed.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	line := eval[string](t, b, `(document.querySelector('.run-head .run-origin') || {}).textContent || ''`)
	if want := "pushed from lab-laptop<b>7</b> by alice on "; len(line) <= len(want) || line[:len(want)] != want {
		t.Errorf("the pushed run's header line: %q, want it to begin %q", line, want)
	}
	if n := eval[float64](t, b, `document.querySelectorAll('.run-head b').length`); n != 0 {
		t.Errorf("the host's markup was rendered: %v <b> elements in the header", n)
	}

	b.open(t, a.url+"runs/"+here.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number' && document.querySelector('.run-head .id') && document.querySelector('.run-head .id').textContent.includes('`+here.id+`')`)
	if n := eval[float64](t, b, `document.querySelectorAll('.run-head .run-origin').length`); n != 0 {
		t.Errorf("a run made here shows %v origin lines", n)
	}
}
