package store

import (
	"context"
	"encoding/binary"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"flperf/internal/runner"
)

var update = flag.Bool("update", false, "rewrite testdata/schema-v1.db (a database at schema 1)")

// v1Fixture is a real database at schema 1, written by writeV1Fixture
// (go test ./internal/store -run TestMigrateFromV1Fixture -update) and
// checked in, so that every later schema is tested against old files.
const v1Fixture = "testdata/schema-v1.db"

// v1Records is how many records the fixture's run holds.
const v1Records = 40

// writeV1Fixture writes the fixture with this build's code, migrated to
// schema 1 only.
func writeV1Fixture(t *testing.T) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "v1.db")
	db, err := open(ctx, loc(t, tmp), openOptions{target: 1})
	if err != nil {
		t.Fatal(err)
	}
	writeRun(t, db, "20250301-120000-0a1b2c", makeRecords(v1Records, 8))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v1Fixture, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// headerVersion reads PRAGMA user_version from a file's header.
func headerVersion(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		t.Fatal(err)
	}
	return int(binary.BigEndian.Uint32(h[60:64]))
}

func TestMigrateFromV1Fixture(t *testing.T) {
	sqliteOnly(t, "the fixture is an SQLite file")
	if *update {
		writeV1Fixture(t)
	}
	b, err := os.ReadFile(v1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flperf.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := headerVersion(t, path); v != 1 {
		t.Fatalf("the fixture is at schema %d, want 1", v)
	}
	db := openAt(t, path)
	if db.SchemaVersion() != LatestSchema() {
		t.Fatalf("migrated to %d, want %d", db.SchemaVersion(), LatestSchema())
	}
	ctx := context.Background()
	id, err := db.Resolve(ctx, "20250301")
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runner.Completed || res.Records != v1Records || res.Config.Models[1] != "m2" || res.Total.Requests == 0 {
		t.Errorf("the old run: status %s records %d models %v requests %d", res.Status, res.Records, res.Config.Models, res.Total.Requests)
	}
	if got := storedSeqs(t, db, id, 8); len(got) != v1Records {
		t.Errorf("%d records survived, want %d", len(got), v1Records)
	}
	runs, err := db.Runs(ctx, Filter{})
	if err != nil || len(runs) != 1 || runs[0].ErrorRate == nil {
		t.Errorf("runs %+v %v", runs, err)
	}
	// What schema 2 added works on the old data.
	if err := db.Event(ctx, id, LevelInfo, "after the upgrade"); err != nil {
		t.Error(err)
	}
	if n := count(t, db, "SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'events_by_run', 'runs_by_started')"); n != 3 {
		t.Errorf("%d of schema 2's 3 objects exist", n)
	}
	db.Close()
	if v := headerVersion(t, path); v != LatestSchema() {
		t.Errorf("after close the header says schema %d", v)
	}
}

// A database created at schema 1 by this build, holding a run being
// written, keeps everything through the upgrade.
func TestMigrateStepwise(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flperf.db")
	old, err := open(ctx, loc(t, path), openOptions{target: 1})
	if err != nil {
		t.Fatal(err)
	}
	if old.SchemaVersion() != 1 {
		t.Fatalf("version %d", old.SchemaVersion())
	}
	// The run is still being written (BeginRun and records; FinishRun
	// belongs to the newer schema's code): its records survive the upgrade
	// and the run can then be finished.
	ctx2 := context.Background()
	recs := makeRecords(30, 4)
	res := testResult("a")
	if err := old.BeginRun(ctx2, res); err != nil {
		t.Fatal(err)
	}
	w := old.NewRecordWriter("a", WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db := openAt(t, path)
	if got := storedSeqs(t, db, "a", 4); len(got) != 30 || db.SchemaVersion() != LatestSchema() {
		t.Errorf("%d records at version %d", len(got), db.SchemaVersion())
	}
	finish(t, db, res, recs)
}

func TestParseMigrations(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil || len(ms) != LatestSchema() || ms[0].name != "001-initial.sql" {
		t.Fatalf("embedded migrations: %v %v", ms, err)
	}
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/001-a.sql": file("x"), "m/003-c.sql": file("x")},
		"duplicate": {"m/001-a.sql": file("x"), "m/001-b.sql": file("x")},
		"bad name":  {"m/1-a.sql": file("x")},
		"not sql":   {"m/001-a.txt": file("x")},
		"empty":     {"m/.keep": file("")},
	} {
		if _, err := parseMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := fstest.MapFS{"m/001-a.sql": file("a"), "m/002-b.sql": file("b")}
	if ms, err := parseMigrations(ok, "m"); err != nil || len(ms) != 2 || ms[1].version != 2 || ms[1].sql != "b" {
		t.Errorf("valid set: %v %v", ms, err)
	}
	for _, m := range ms {
		if !strings.HasSuffix(strings.TrimSpace(m.sql), ";") {
			t.Errorf("%s does not end with a statement", m.name)
		}
	}
}
