package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// fullRun stores a finished run of n records with hardware, resources
// and a resource series, and returns its export.
func fullRun(t *testing.T, db *DB, id string, n int) *Archive {
	t.Helper()
	ctx := context.Background()
	recs := oddRecords()
	for len(recs) < n {
		recs = append(recs, makeRecord(int64(len(recs)), 3))
	}
	recs = recs[:n]
	res := testResult(id)
	model, cores := "Test SoC", 12
	res.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &model, LogicalCores: &cores}, Arch: "arm64", GPUs: []telemetry.GPU{}, NPUs: []string{"Hexagon"}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(id, WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cpu := 41.25
	res.Series = &telemetry.Series{Start: t0, IntervalMS: 250, Notes: []string{}, Samples: []telemetry.Sample{{T: 250, CPUPct: &cpu}}}
	res.Resources = &runner.Resources{IntervalMS: 250, Samples: 1, Notes: []string{}, Stages: []runner.Window{{Model: "m1", Scenario: "chat", OutputTokens: 9}}, Models: []runner.Window{}}
	finish(t, db, res, recs)
	if err := db.Event(ctx, id, "warn", "engine restarted <once>"); err != nil {
		t.Fatal(err)
	}
	a, err := db.Export(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// pushLines returns a's header and record lines.
func pushLines(t *testing.T, a *Archive) ([]byte, [][]byte) {
	t.Helper()
	h, err := PushHeader(a)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i := range a.Records {
		l, err := EncodeJSON(&a.Records[i])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return h, lines
}

// pushAll pushes a to db in chunks of size records and commits.
func pushAll(t *testing.T, db *DB, a *Archive, size int) *PushState {
	t.Helper()
	ctx := context.Background()
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	st, err := db.BeginPush(ctx, PushBegin{Header: h, Total: int64(len(lines)), Digest: d, Origin: PushOrigin{Via: "push", Host: "laptop"}})
	if err != nil {
		t.Fatal(err)
	}
	for off := int(st.Received); off < len(lines); off += size {
		if _, err := db.PushRecords(ctx, a.ID, int64(off), lines[off:min(off+size, len(lines))]); err != nil {
			t.Fatal(err)
		}
	}
	st, err = db.CommitPush(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func pushKind(err error) PushErrorKind {
	var pe *PushError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return 0
}

// TestPushRoundTrip pushes a run in chunks into another database: its
// export there is byte for byte the one here (records, resources,
// hardware, events), its digest is the same, and its origin is kept.
func TestPushRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "20260101-000000-00112233aabbccdd", 100)
	st := pushAll(t, dst, a, 7)
	want, _ := ArchiveDigest(a)
	if st.State != PushStored || st.Received != 100 || st.Total != 100 || st.Digest != want || st.Origin == nil || st.Origin.Host != "laptop" || st.Origin.At.IsZero() {
		t.Fatalf("state %+v", st)
	}
	b, err := dst.Export(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, exp := archiveJSON(t, b), archiveJSON(t, a); !bytes.Equal(got, exp) {
		t.Fatalf("export differs after push:\n%s\n---\n%s", got[:min(len(got), 2000)], exp[:min(len(exp), 2000)])
	}
	if n := count(t, dst, "SELECT count(*) FROM push_sessions"); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if n := count(t, dst, "SELECT count(*) FROM push_chunks"); n != 0 {
		t.Errorf("%d chunks left", n)
	}
	// Pushed again: stored once.
	h, _ := pushLines(t, a)
	again, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 100, Digest: want})
	if err != nil || again.State != PushStored || again.Received != 100 {
		t.Fatalf("second push: %+v, %v", again, err)
	}
	if n := count(t, dst, "SELECT count(*) FROM runs"); n != 1 {
		t.Errorf("%d runs after two pushes", n)
	}
	// A run stored without a digest (run here) is recognised from its export.
	sd, _, err := src.RunDigest(ctx, a.ID)
	if err != nil || sd.Digest != want {
		t.Fatalf("digest of the source run: %+v, %v", sd, err)
	}
	// The same id with other content: a conflict naming both digests.
	a2 := *a
	a2.Warnings = append([]string{"other"}, a.Warnings...)
	h2, _ := pushLines(t, &a2)
	d2, _ := ArchiveDigest(&a2)
	_, err = dst.BeginPush(ctx, PushBegin{Header: h2, Total: 100, Digest: d2})
	if pushKind(err) != PushConflict || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), d2) {
		t.Fatalf("other content: %v", err)
	}
}

// TestPushResume checks the session: a begin again resumes from the
// records held, a chunk sent twice is stored once, a chunk beyond them
// is a gap, a commit before the last record is refused and the run is
// not visible until the commit.
func TestPushResume(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "resume-1", 50)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	begin := PushBegin{Header: h, Total: 50, Digest: d}
	if _, err := dst.BeginPush(ctx, begin); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, lines[:20]); err != nil {
		t.Fatal(err)
	}
	st, err := dst.BeginPush(ctx, begin)
	if err != nil || st.State != PushReceiving || st.Received != 20 {
		t.Fatalf("resume: %+v, %v", st, err)
	}
	if st, err = dst.PushRecords(ctx, a.ID, 10, lines[10:30]); err != nil || st.Received != 30 {
		t.Fatalf("overlapping chunk: %+v, %v", st, err)
	}
	if st, err = dst.PushRecords(ctx, a.ID, 0, lines[:10]); err != nil || st.Received != 30 {
		t.Fatalf("chunk sent again: %+v, %v", st, err)
	}
	_, err = dst.PushRecords(ctx, a.ID, 40, lines[40:])
	var pe *PushError
	if !errors.As(err, &pe) || pe.Kind != PushGap || pe.State == nil || pe.State.Received != 30 {
		t.Fatalf("gap: %v", err)
	}
	if _, err := dst.CommitPush(ctx, a.ID); pushKind(err) != PushIncomplete {
		t.Fatalf("early commit: %v", err)
	}
	if runs, err := dst.Runs(ctx, Filter{}); err != nil || len(runs) != 0 {
		t.Fatalf("a run is visible before its commit: %v %v", runs, err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 30, append(lines[30:], lines[0])); pushKind(err) != PushInvalid {
		t.Fatalf("more records than announced: %v", err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 30, lines[30:]); err != nil {
		t.Fatal(err)
	}
	if st, err = dst.CommitPush(ctx, a.ID); err != nil || st.State != PushStored {
		t.Fatalf("commit: %+v, %v", st, err)
	}
	if st, err = dst.CommitPush(ctx, a.ID); err != nil || st.State != PushStored || st.Digest != d {
		t.Fatalf("commit again: %+v, %v", st, err)
	}
	b, _ := dst.Export(ctx, a.ID)
	if !bytes.Equal(archiveJSON(t, b), archiveJSON(t, a)) {
		t.Fatal("resumed push differs")
	}
}

// TestPushRefusals checks content a push refuses, naming the field, and
// that a digest mismatch drops the session without storing a run.
func TestPushRefusals(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "bad-1", 20)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	for _, c := range []struct {
		name  string
		begin PushBegin
		want  string
	}{
		{"digest", PushBegin{Header: h, Total: 20, Digest: "md5:x"}, "digest"},
		{"count", PushBegin{Header: h, Total: -1, Digest: d}, "records"},
		{"unknown field", PushBegin{Header: append(bytes.TrimSuffix(bytes.Clone(h), []byte("}")), []byte(`,"future":1}`)...), Total: 20, Digest: d}, "future"},
		{"bad id", PushBegin{Header: bytes.Replace(h, []byte(`"id":"bad-1"`), []byte(`"id":"../x"`), 1), Total: 20, Digest: d}, "id"},
		{"running", PushBegin{Header: bytes.Replace(h, []byte(`"status":"completed"`), []byte(`"status":"running"`), 1), Total: 20, Digest: d}, "still running"},
		{"records in header", PushBegin{Header: bytes.Replace(h, []byte(`"records":null`), []byte(`"records":[]`), 1), Total: 20, Digest: d}, "records"},
	} {
		_, err := dst.BeginPush(ctx, c.begin)
		if pushKind(err) != PushInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 20, Digest: d}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, [][]byte{[]byte(`{"seq":-4}`)}); pushKind(err) != PushInvalid || !strings.Contains(err.Error(), "seq") {
		t.Errorf("negative seq: %v", err)
	}
	// A line changed in flight (valid, but not what the digest covers).
	forged := append([][]byte{}, lines...)
	forged[3] = bytes.Replace(lines[3], []byte(`"worker":3`), []byte(`"worker":2`), 1)
	if bytes.Equal(forged[3], lines[3]) {
		t.Fatal("test line unchanged")
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, forged); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CommitPush(ctx, a.ID); pushKind(err) != PushMismatch {
		t.Fatalf("forged content: %v", err)
	}
	if n := count(t, dst, "SELECT count(*) FROM runs"); n != 0 {
		t.Errorf("a mismatched push left %d runs", n)
	}
	if n := count(t, dst, "SELECT count(*) FROM push_sessions"); n != 0 {
		t.Errorf("a mismatched push left its session")
	}
	// Another content for the same id while a push is in progress.
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 20, Digest: d}); err != nil {
		t.Fatal(err)
	}
	other := DigestPrefix + strings.Repeat("0", 64)
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 20, Digest: other}); pushKind(err) != PushConflict {
		t.Fatalf("concurrent other content: %v", err)
	}
	// Once idle for PushIdle, it is replaced.
	if _, err := dst.sql.Exec("UPDATE push_sessions SET updated = ?", time.Now().Add(-PushIdle-time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if st, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 20, Digest: other}); err != nil || st.Digest != other {
		t.Fatalf("idle session not replaced: %+v %v", st, err)
	}
}

// TestPushExpiry: a session abandoned for PushExpiry is dropped when
// another push begins, chunks and all.
func TestPushExpiry(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "old-1", 10)
	b := fullRun(t, src, "new-1", 10)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 10, Digest: d}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, lines[:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.sql.Exec("UPDATE push_sessions SET updated = ?", time.Now().Add(-PushExpiry-time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	hb, _ := pushLines(t, b)
	db, _ := ArchiveDigest(b)
	if _, err := dst.BeginPush(ctx, PushBegin{Header: hb, Total: 10, Digest: db}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dst, "SELECT count(*) FROM push_sessions WHERE run_id = 'old-1'"); n != 0 {
		t.Error("the abandoned session was kept")
	}
	if n := count(t, dst, "SELECT count(*) FROM push_chunks"); n != 0 {
		t.Errorf("%d chunks of the abandoned session were kept", n)
	}
}

// FuzzPushChunk feeds arbitrary chunk bodies to the record decoder: it
// never panics, and a line it takes encodes back to a line it takes
// again as the same record.
func FuzzPushChunk(f *testing.F) {
	for _, r := range oddRecords()[:12] {
		l, err := EncodeJSON(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(l)
	}
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte(`{"seq":-1}`))
	f.Add([]byte(`{"seq":1,"chunks":[{"at":1,"tokens":-3}]}`))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		lines, err := SplitLines(body)
		if err != nil {
			return
		}
		for i, l := range lines {
			r, err := DecodePushRecord(l, int64(i))
			if err != nil {
				continue
			}
			again, err := EncodeJSON(r)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := DecodePushRecord(again, int64(i))
			if err != nil {
				t.Fatalf("a record taken once is refused re-encoded: %v\n%s", err, again)
			}
			if third, _ := EncodeJSON(r2); !bytes.Equal(third, again) {
				t.Fatalf("re-encoding is not stable:\n%s\n%s", again, third)
			}
		}
	})
}

// TestPushSource: the streamed header, digest and lines are exactly those
// of the run's export, from any record on.
func TestPushSource(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := fullRun(t, db, "source-1", 75)
	src, err := db.ReadPushSource(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	if !bytes.Equal(src.Header, h) || src.Digest != d || src.Records != 75 || src.Status != "completed" {
		t.Fatalf("source %+v, want digest %s", src, d)
	}
	var got [][]byte
	if err := db.PushLines(ctx, a.ID, 40, func(i int64, l []byte) error {
		if i != int64(40+len(got)) {
			t.Fatalf("line index %d after %d lines", i, len(got))
		}
		got = append(got, bytes.Clone(l))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 35 || !bytes.Equal(bytes.Join(got, nil), bytes.Join(lines[40:], nil)) {
		t.Fatalf("%d lines from 40 differ from the export's", len(got))
	}
	if _, err := db.ReadPushSource(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}
