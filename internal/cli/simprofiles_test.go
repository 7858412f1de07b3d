package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadSimProfilesPrefixCache reads a profiles file with a prefix cache
// and refuses a negative one, naming the profile and field.
func TestLoadSimProfilesPrefixCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	if err := os.WriteFile(path, []byte(`[{"name":"tiny","ttft":"40ms","prefill_tps":4000,"decode_tps":120,"prefix_cache":256}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := loadSimProfiles(path)
	if err != nil || len(ps) != 1 || ps[0].PrefixCache != 256 || ps[0].TTFT != 40*time.Millisecond {
		t.Fatalf("%+v %v", ps, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"name":"tiny","decode_tps":120,"prefix_cache":-1}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := run(t, "sim", "--profiles", bad, "--listen", "127.0.0.1:0")
	if o.code == ExitOK || !strings.Contains(o.stderr, `profile "tiny": PrefixCache must be in [0,1048576] (got -1)`) {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
}
