package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestStoreFailureClasses checks which errors keep a push's session for a
// retry (the database failed) and which drop it (the content is at fault),
// for PostgreSQL's SQLSTATEs and connection errors as for SQLite's codes.
func TestStoreFailureClasses(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("database x: storing pushed run r: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"})
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection failure 08006", pg("08006"), true},
		{"serialization failure 40001", pg("40001"), true},
		{"deadlock 40P01", pg("40P01"), true},
		{"disk full 53100", pg("53100"), true},
		{"too many connections 53300", pg("53300"), true},
		{"lock not available 55P03", pg("55P03"), true},
		{"admin shutdown 57P01", pg("57P01"), true},
		{"statement timeout 57014", pg("57014"), true},
		{"read-only transaction 25006", pg("25006"), true},
		{"I/O error 58030", pg("58030"), true},
		{"data corrupted XX001", pg("XX001"), true},
		{"privilege 42501", pg("42501"), true},
		{"unique violation 23505", pg("23505"), false},
		{"numeric out of range 22003", pg("22003"), false},
		{"invalid text 22021", pg("22021"), false},
		{"syntax 42601", pg("42601"), false},
		{"network", fmt.Errorf("x: %w", dial), true},
		{"bad connection", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"connection done", sql.ErrConnDone, true},
		{"transaction done", sql.ErrTxDone, true},
		{"cancelled", context.Canceled, true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"content", errors.New("store: import: run r has no status"), false},
		{"push content", pushErrorf(PushMismatch, nil, "digest"), false},
	} {
		if got := isStoreFailure(c.err); got != c.want {
			t.Errorf("%s: isStoreFailure = %v, want %v (%v)", c.name, got, c.want, c.err)
		}
	}
}

// TestCommitPushKeepsSessionOnPostgresFailure ends the server session of
// a commit in progress (pg_terminate_backend while the commit waits for a
// lock held elsewhere), as a server restart or a lost connection would:
// the commit fails, the session and its records are kept, and the commit
// retried stores the run whole.
func TestCommitPushKeepsSessionOnPostgresFailure(t *testing.T) {
	if !onPostgres {
		t.Skip("PostgreSQL only: ends a server session")
	}
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	const n = 40
	a := fullRun(t, src, "20260101-000000-kill0000kill0000", n)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: n, Digest: d, Origin: PushOrigin{Via: "push", Host: "laptop"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, lines); err != nil {
		t.Fatal(err)
	}
	// Another session holds the runs table: the commit waits for it.
	admin := pgAdmin(t)
	lock, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec("LOCK TABLE " + dst.pg.schema + ".runs IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var commitErr error
	wg.Go(func() { _, commitErr = dst.CommitPush(ctx, a.ID) })
	// The commit's backend: the one waiting for a lock on that table.
	var pid int
	for deadline := time.Now().Add(time.Minute); ; {
		err := admin.QueryRow(`SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
			WHERE NOT l.granted AND l.relation = ($1 || '.runs')::regclass`, dst.pg.schema).Scan(&pid)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("finding the waiting commit: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if commitErr == nil || !isStoreFailure(commitErr) {
		t.Fatalf("commit with its session ended: %v (a store failure: %v)", commitErr, isStoreFailure(commitErr))
	}
	lock.Rollback()
	st, err := dst.PushStatus(ctx, a.ID)
	if err != nil || st.State != PushReceiving || st.Received != n {
		t.Fatalf("session after the failed commit: %+v, %v", st, err)
	}
	st, err = dst.CommitPush(ctx, a.ID)
	if err != nil || st.State != PushStored || st.Received != n || st.Digest != d {
		t.Fatalf("commit retried: %+v, %v", st, err)
	}
	if got := count(t, dst, "SELECT count(*) FROM records"); got != n {
		t.Errorf("%d records stored, want %d", got, n)
	}
	if !strings.HasPrefix(st.Digest, DigestPrefix) {
		t.Errorf("digest %q", st.Digest)
	}
}
