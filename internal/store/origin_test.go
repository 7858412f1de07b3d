package store

import (
	"context"
	"testing"
)

// TestRunOrigin: a pushed run's origin reads back (RunOrigin, and in the
// run list), a run made here has none, and Describe words each kind.
func TestRunOrigin(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t), openTest(t)
	a := fullRun(t, src, "20260101-000000-0r1g1n000r1g1n00", 12)
	h, lines := pushLines(t, a)
	d, _ := ArchiveDigest(a)
	if _, err := dst.BeginPush(ctx, PushBegin{Header: h, Total: 12, Digest: d, Origin: PushOrigin{Via: "push", Host: "laptop-7", User: "alice", Remote: "10.0.0.7:5123", Tool: "flperf test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.PushRecords(ctx, a.ID, 0, lines); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CommitPush(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	o, err := dst.RunOrigin(ctx, a.ID)
	if err != nil || o == nil || o.Via != "push" || o.Host != "laptop-7" || o.User != "alice" || o.Remote != "10.0.0.7:5123" || o.Tool != "flperf test" || o.At.IsZero() {
		t.Fatalf("origin %+v, %v", o, err)
	}
	if got := o.Describe(); got != "pushed from laptop-7 by alice" {
		t.Errorf("Describe: %q", got)
	}
	runs, err := dst.Runs(ctx, Filter{})
	if err != nil || len(runs) != 1 || runs[0].Origin == nil || *runs[0].Origin != *o {
		t.Fatalf("listed: %+v, %v", runs, err)
	}
	if o, err := src.RunOrigin(ctx, a.ID); o != nil || err != nil {
		t.Errorf("a run made here: origin %+v, %v", o, err)
	}
	if runs, err := src.Runs(ctx, Filter{}); err != nil || len(runs) != 1 || runs[0].Origin != nil {
		t.Errorf("a run made here, listed: %+v, %v", runs, err)
	}
	for _, c := range []struct {
		o    *PushOrigin
		want string
	}{
		{nil, ""},
		{&PushOrigin{Via: "push", Remote: "10.0.0.9:1"}, "pushed from 10.0.0.9:1"},
		{&PushOrigin{Via: "push", User: "token"}, "pushed from ? by token"},
		{&PushOrigin{Via: "pull", Remote: "https://team.example:8080"}, "pulled from https://team.example:8080"},
	} {
		if got := c.o.Describe(); got != c.want {
			t.Errorf("Describe(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
}
