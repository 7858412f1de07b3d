package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestPushRacingWriters has 8 writers push one run into one database at
// once, each from the first record, in the same chunks (a retried chunk
// racing its original, several machines pushing one run): on either
// store every chunk, begin and commit succeeds, and the run is stored
// once, exact, with no session or chunk left over.
func TestPushRacingWriters(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	const n, size, writers = 120, 10, 8
	a := fullRun(t, src, "20260101-000000-race0000race0000", n)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	var wg sync.WaitGroup
	errs := make([]error, writers)
	states := make([]*PushState, writers)
	for w := range writers {
		wg.Go(func() {
			st, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: n, Digest: d, Origin: PushOrigin{Via: "push", Host: "laptop"}})
			if err != nil {
				errs[w] = err
				return
			}
			for off := int(st.Received); off < n && st.State == PushReceiving; off += size {
				if st, err = dst.PushRecords(ctx, a.ID, int64(off), lines[off:min(off+size, n)]); err != nil {
					errs[w] = err
					return
				}
			}
			states[w], errs[w] = dst.CommitPush(ctx, a.ID)
		})
	}
	wg.Wait()
	for w := range writers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		if st := states[w]; st.State != PushStored || st.Received != n || st.Total != n || st.Digest != d || st.Origin == nil || st.Origin.Host != "laptop" {
			t.Fatalf("writer %d: state %+v", w, st)
		}
	}
	if got := count(t, dst, "SELECT count(*) FROM runs"); got != 1 {
		t.Errorf("%d runs stored", got)
	}
	if got := count(t, dst, "SELECT count(*) FROM records"); got != n {
		t.Errorf("%d records stored, want %d", got, n)
	}
	if got := count(t, dst, "SELECT count(*) FROM run_origins"); got != 1 {
		t.Errorf("%d origins stored", got)
	}
	if got := count(t, dst, "SELECT count(*) FROM push_sessions") + count(t, dst, "SELECT count(*) FROM push_chunks"); got != 0 {
		t.Errorf("%d sessions and chunks left", got)
	}
	b, err := dst.Export(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ArchiveDigest(b); got != d {
		t.Errorf("stored run's digest %s, pushed %s", got, d)
	}
}

// TestPushSessionLimitUnderRace: with MaxPushSessions-4 pushes in
// progress, 12 pushes of other runs begin at once: exactly 4 are opened
// and 8 told the server is busy, on either store (PostgreSQL counts the
// sessions under a lock that begins take in turn).
func TestPushSessionLimitUnderRace(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "20260101-000000-11m170000000000", 3)
	d, _ := ArchiveDigest(a)
	begin := func(i int) error {
		b := *a
		b.ID = fmt.Sprintf("20260101-000000-11m17%010d", i)
		h, err := PushHeader(&b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = dst.BeginPush(ctx, PushBegin{Header: h, Total: 3, Digest: d})
		return err
	}
	for i := range MaxPushSessions - 4 {
		if err := begin(i); err != nil {
			t.Fatal(err)
		}
	}
	const racers = 12
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for r := range racers {
		wg.Go(func() { errs[r] = begin(1000 + r) })
	}
	wg.Wait()
	opened, busy := 0, 0
	for r, err := range errs {
		switch {
		case err == nil:
			opened++
		case pushKind(err) == PushBusy:
			busy++
		default:
			t.Errorf("racer %d: %v", r, err)
		}
	}
	if opened != 4 || busy != racers-4 {
		t.Errorf("%d opened and %d busy, want 4 and %d", opened, busy, racers-4)
	}
	if n := count(t, dst, "SELECT count(*) FROM push_sessions"); n != MaxPushSessions {
		t.Errorf("%d sessions, want %d", n, MaxPushSessions)
	}
}
