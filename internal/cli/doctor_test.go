package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flperf/internal/doctor"
)

// flperf doctor reports a damaged database (given by --db or FLPERF_DB) as
// data and exits 0; --format json is the report's JSON; a bad format is a
// usage error.
func TestDoctorCmd(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "flperf.db")
	if err := os.WriteFile(bad, []byte("model,ttft\nllama,120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := run(t, "doctor", "--format", "json", "--db", bad)
	wantCode(t, o, ExitOK)
	var r doctor.Report
	if err := json.Unmarshal([]byte(o.stdout), &r); err != nil {
		t.Fatalf("%v in %s", err, o.stdout)
	}
	if r.Data.DB.OK || !r.Data.DB.Exists || len(r.Data.DB.Problems) != 1 || !strings.Contains(r.Data.DB.Problems[0], "not an SQLite database") {
		t.Fatalf("data = %+v", r.Data)
	}
	o = cli(t, t.Context(), map[string]string{"FLPERF_DB": bad}, "doctor")
	wantCode(t, o, ExitOK)
	for _, want := range []string{"flperf doctor\n", "\nEngines\n", "\nFoundry Local\n", "DAMAGED OR UNUSABLE: not an SQLite database", "\nSuggestions\n  - "} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, o.stdout)
		}
	}
	wantCode(t, run(t, "doctor", "--format", "yaml"), ExitUsage)
}
