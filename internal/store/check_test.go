package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Check reports a missing file without creating it, a sound database as
// OK with its schema and runs, and damage found by integrity_check,
// without changing the damaged file.
func TestCheck(t *testing.T) {
	sqliteOnly(t, "Check reads the SQLite file itself (a PostgreSQL URL: TestPostgresCheck)")
	ctx := context.Background()
	dir := t.TempDir()

	missing := filepath.Join(dir, "none", "flperf.db")
	in, err := Check(ctx, missing)
	if err != nil || in.Exists || !in.OK {
		t.Fatalf("missing file: %+v, %v", in, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Fatalf("Check created the directory of a missing database (stat: %v)", err)
	}

	good := filepath.Join(dir, "good.db")
	makeDB(t, good, 50)
	in, err = Check(ctx, good)
	if err != nil || !in.Exists || !in.OK || len(in.Problems) != 0 || in.Check != "integrity_check" {
		t.Fatalf("sound database: %+v, %v", in, err)
	}
	if in.SchemaVersion == nil || *in.SchemaVersion != LatestSchema() || in.Runs == nil || *in.Runs != 1 {
		t.Fatalf("sound database: schema %v runs %v, want %d and 1", in.SchemaVersion, in.Runs, LatestSchema())
	}

	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for i := 3 * 4096; i+64 <= len(b); i += 4096 {
		for j := range 64 {
			b[i+j] = byte(0xA5 ^ j) // scribble over every page header
		}
	}
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	in, err = Check(ctx, bad)
	if err != nil || !in.Exists || in.OK || len(in.Problems) == 0 {
		t.Fatalf("damaged database: %+v, %v", in, err)
	}
	after, err := os.ReadFile(bad)
	if err != nil || string(after) != string(b) {
		t.Fatalf("Check changed the damaged file (read: %v)", err)
	}

	text := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(text, []byte("model,ttft\nllama,120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, _ = Check(ctx, text)
	if in.OK || len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "not an SQLite database") {
		t.Fatalf("text file: %+v", in)
	}
}
