package cli

import (
	"strings"
	"testing"

	"flperf/internal/suite"
)

// TestSavedSuites checks that a suite saved next to the database (where
// the app's suite editor saves it) is found by `flperf run --suite NAME`
// and listed and shown by `flperf suites`, and that an unknown name lists
// the saved suites.
func TestSavedSuites(t *testing.T) {
	s := startTestSim(t, quickProfile())
	db := newDB(t)
	lib := &suite.Library{Dir: suite.LibraryDir(db)}
	if _, err := lib.Save("tiny-saved", []byte(tinySuite), ""); err != nil {
		t.Fatal(err)
	}
	doc := savedRun(t, db, s, "--model", "quick", "--suite", "tiny-saved", "--requests", "2")
	cfg, _ := doc["config"].(map[string]any)
	st, _ := doc["suite"].(map[string]any)
	if cfg["suite"] != "tiny-saved" || st["name"] != "tiny" || st["source"] != lib.Path("tiny-saved") {
		t.Errorf("run on a saved suite: config.suite %v, suite %v", cfg["suite"], st)
	}
	if n, _ := doc["records"].(float64); n != 4 {
		t.Errorf("%v records, want 2 scenarios × 2", n)
	}

	o := run(t, "suites", "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "\ntiny-saved   2 scenarios  (saved) \n") {
		t.Errorf("flperf suites does not list the saved suite:\n%s", o.stdout)
	}
	o = run(t, "suites", "--db", db, "tiny-saved")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "  alpha ") || !strings.Contains(o.stdout, "  beta ") {
		t.Errorf("flperf suites tiny-saved:\n%s", o.stdout)
	}

	o = run(t, "run", "--db", db, "--endpoint", s.base, "--model", "quick", "--suite", "nope")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, `unknown suite "nope"`) || !strings.Contains(o.stderr, "saved suites (in "+lib.Dir+"): tiny-saved") {
		t.Errorf("unknown suite: %s", o.stderr)
	}
}
