package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConversationRunShowExport runs a conversation suite on the built-in
// simulated engine and checks that the per-turn block reads the same in
// the run's table, in `show` of the stored run, and after export and
// import into another database, with the cache hit on every later turn.
func TestConversationRunShowExport(t *testing.T) {
	dir := t.TempDir()
	suitePath := filepath.Join(dir, "chat.json")
	if err := os.WriteFile(suitePath, []byte(`{"name":"chat","scenarios":[
		{"name":"chat","system":"Be brief.","turns":["Hi there","Tell me more","And then?"],"max_tokens":16}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	o := run(t, "run", "--engine", "sim", "--model", "sim-fast", "--suite", suitePath, "--requests", "6", "--concurrency", "2",
		"--seed", "3", "--db", db, "--no-progress", "--format", "json")
	wantCode(t, o, ExitOK)
	id := str(t, decodeJSON(t, o.stdout), "id")
	turnsOf := func(where, stdout string) string {
		t.Helper()
		_, block, ok := strings.Cut(stdout, "Per conversation turn")
		if !ok {
			t.Fatalf("%s: no per-turn block:\n%s", where, stdout)
		}
		block, _, _ = strings.Cut(block, "\n\n")
		return block
	}
	o = run(t, "show", id, "--db", db)
	wantCode(t, o, ExitOK)
	shown := turnsOf("show", o.stdout)
	var rows int
	for l := range strings.Lines(shown) {
		f := strings.Fields(l)
		if len(f) == 9 && f[0] == "sim-fast" {
			rows++
			if cached := f[len(f)-1]; (f[2] == "1") != (cached == "0.0%") {
				t.Errorf("turn %s: cached share %s", f[2], cached)
			}
		}
	}
	if rows != 3 {
		t.Fatalf("show: %d turn rows:\n%s", rows, shown)
	}
	path := filepath.Join(dir, "run.json")
	wantCode(t, run(t, "export", id, "--format", "json", "--out", path, "--db", db), ExitOK)
	other := newDB(t)
	wantCode(t, run(t, "import", path, "--db", other), ExitOK)
	o = run(t, "show", id, "--db", other)
	wantCode(t, o, ExitOK)
	if got := turnsOf("show after import", o.stdout); got != shown {
		t.Errorf("after export and import:\n%s\nbefore:\n%s", got, shown)
	}
}
