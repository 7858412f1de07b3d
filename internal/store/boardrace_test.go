package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestBoardIndexedByConcurrentReaders: 8 board reads at once on a
// database whose runs predate the board (each read indexes what is not
// yet indexed) all answer the same rows, on either store: a run indexed
// by two readers at once never clashes on the board's key, and each run
// is on the board once.
func TestBoardIndexedByConcurrentReaders(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	const runs, readers = 6, 8
	for i := range runs {
		writeRun(t, db, fmt.Sprintf("old-%d", i), makeRecords(40, 3))
	}
	want := count(t, db, "SELECT count(*) FROM board")
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM board"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, "UPDATE runs SET board = 0"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]int, readers)
	errs := make([]error, readers)
	for r := range readers {
		wg.Go(func() {
			rows, err := db.BoardRows(ctx, BoardFilter{})
			got[r], errs[r] = len(rows), err
		})
	}
	wg.Wait()
	for r := range readers {
		if errs[r] != nil || got[r] != want {
			t.Errorf("reader %d: %d rows (%v), want %d", r, got[r], errs[r], want)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM board"); n != want {
		t.Errorf("%d board rows stored, want %d", n, want)
	}
	if n := count(t, db, "SELECT count(*) FROM runs WHERE board = 1"); n != runs {
		t.Errorf("%d runs marked indexed, want %d", n, runs)
	}
}
