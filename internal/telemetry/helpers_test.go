package telemetry

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fp returns a pointer to v.
func fp(v float64) *float64 { return &v }

// up returns a pointer to v.
func up(v uint64) *uint64 { return &v }

// checkF fails unless got is nil when want is nil, or equals *want within
// 1e-9 (relative).
func checkF(t *testing.T, what string, got, want *float64) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s = %v, want nil", what, *got)
	case want != nil && got == nil:
		t.Errorf("%s = nil, want %v", what, *want)
	case want != nil && math.Abs(*got-*want) > 1e-9*math.Max(1, math.Abs(*want)):
		t.Errorf("%s = %v, want %v", what, *got, *want)
	}
}

// readFixture reads testdata/name.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile creates path (and its parents) with content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// symlink creates link → target, with link's parents.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks not available: %v", err)
	}
}

// readFixtureF reads testdata/name for a fuzz target's seeds.
func readFixtureF(_ *testing.F, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}
