package telemetry

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeRAPL builds a powercap tree with two packages (and a core subdomain
// that must be ignored) and returns its root and a setter for the counters.
func fakeRAPL(t *testing.T) (root string, set func(domain string, uj uint64)) {
	root = t.TempDir()
	for _, d := range []struct{ dir, name string }{
		{"intel-rapl:0", "package-0"},
		{"intel-rapl:0:0", "core"},
		{"intel-rapl:1", "package-1"},
	} {
		writeFile(t, filepath.Join(root, d.dir, "name"), d.name+"\n")
		writeFile(t, filepath.Join(root, d.dir, "max_energy_range_uj"), "262143328850\n")
		writeFile(t, filepath.Join(root, d.dir, "energy_uj"), "0\n")
	}
	set = func(dir string, uj uint64) {
		writeFile(t, filepath.Join(root, dir, "energy_uj"), strconv.FormatUint(uj, 10)+"\n")
	}
	return root, set
}

func TestRAPL(t *testing.T) {
	root, set := fakeRAPL(t)
	set("intel-rapl:0", 1_000_000)
	set("intel-rapl:1", 262143328850-500_000) // about to wrap
	set("intel-rapl:0:0", 999)
	notes := &noteLog{}
	r := openRAPL(root, nil, time.Now(), notes)
	if r == nil {
		t.Fatalf("no reader; notes %v", notes.list())
	}
	if !slices.Equal(r.names(), []string{"package-0", "package-1"}) {
		t.Fatalf("domains %v", r.names())
	}
	base := r.lastAt

	// 2 s later: package-0 used 40 J, package-1 wrapped after using 0.5 J
	// and then 19.5 J more: 60 J in 2 s is 30 W.
	set("intel-rapl:0", 41_000_000)
	set("intel-rapl:1", 19_500_000)
	set("intel-rapl:0:0", 5_000_000_000) // a subdomain must not count
	checkF(t, "power with wrap", r.read(base.Add(2*time.Second)), fp(30))

	// A counter that goes backwards without a known range is not a wrap.
	r.domains[1].max = 0
	set("intel-rapl:1", 1)
	checkF(t, "backwards", r.read(base.Add(3*time.Second)), nil)
	// The next read is usable again.
	set("intel-rapl:0", 42_000_000)
	set("intel-rapl:1", 1_000_001)
	checkF(t, "after reset", r.read(base.Add(4*time.Second)), fp(2))

	// An unreadable counter gives nil and a note, then recovers.
	e := filepath.Join(root, "intel-rapl:1", "energy_uj")
	if err := os.Remove(e); err != nil {
		t.Fatal(err)
	}
	checkF(t, "unreadable", r.read(base.Add(5*time.Second)), nil)
	if n := notes.list(); len(n) != 1 || !strings.Contains(n[0], "package-1") {
		t.Errorf("notes %v", n)
	}
	set("intel-rapl:1", 5)
	checkF(t, "first read after failure", r.read(base.Add(6*time.Second)), nil)
	set("intel-rapl:1", 1_000_005)
	set("intel-rapl:0", 43_000_000)
	checkF(t, "recovered", r.read(base.Add(7*time.Second)), fp(2))
}

func TestRAPLUnavailable(t *testing.T) {
	notes := &noteLog{}
	if r := openRAPL(t.TempDir(), nil, time.Now(), notes); r != nil {
		t.Errorf("empty tree gave a reader")
	}
	if r := openRAPL("", nil, time.Now(), notes); r != nil || r.read(time.Now()) != nil || r.names() != nil {
		t.Errorf("no root gave a reader")
	}
	if n := notes.list(); len(n) != 0 {
		t.Errorf("absence noted: %v", n)
	}
	// Not readable (a directory stands in for a root-only file).
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "intel-rapl:0", "name"), "package-0\n")
	if err := os.MkdirAll(filepath.Join(root, "intel-rapl:0", "energy_uj"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := openRAPL(root, nil, time.Now(), notes); r != nil {
		t.Errorf("unreadable counter gave a reader")
	}
	if n := notes.list(); len(n) != 1 || !strings.Contains(n[0], "not readable") {
		t.Errorf("notes %v", n)
	}
}
