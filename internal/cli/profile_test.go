package cli

import (
	"context"
	"strings"
	"testing"

	"flperf/internal/profile"
)

func TestRunProfileRefusesWorkloadFlags(t *testing.T) {
	o := cli(t, context.Background(), map[string]string{"FLPERF_REQUESTS": "9"}, "run", "--profile", "standard", "--no-save",
		"--concurrency", "8", "--max-tokens", "64", "--suite", "default", "--engine", "sim")
	wantCode(t, o, ExitUsage)
	for _, want := range []string{
		"--concurrency: the standard/2 profile fixes the workload",
		"--max-tokens: the standard/2 profile fixes the workload",
		"--suite: the standard/2 profile fixes the workload",
		"ignores --requests set by the environment",
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
	if strings.Contains(o.stderr, "--engine:") || strings.Contains(o.stderr, "--no-save:") {
		t.Errorf("a flag a profile keeps was refused:\n%s", o.stderr)
	}
	// The older version keeps its column, and refuses overrides alike
	// (--force and --input-tokens included: the profile sizes its prompts).
	o = run(t, "run", "--profile", "standard/1", "--no-save", "--force", "--input-tokens", "512", "--engine", "sim")
	wantCode(t, o, ExitUsage)
	for _, want := range []string{"--force: the standard/1 profile fixes the workload", "--input-tokens: the standard/1 profile fixes the workload"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
	o = run(t, "run", "--profile", "standard/3", "--no-save")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, `versions 1 to 2 of the standard profile`) {
		t.Errorf("stderr: %s", o.stderr)
	}
	o = run(t, "run", "--profile", "quick", "--no-save")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, `--profile: unknown profile "quick"`) {
		t.Errorf("stderr: %s", o.stderr)
	}
}

func TestProfileTable(t *testing.T) {
	v, n := 150.0, 200.0
	s := 174.1
	p := &profile.Result{ID: "standard/1", Reference: profile.ReferenceV1, Power: "ac", Models: []profile.ModelResult{{
		Model: "m", Score: &s, Missing: []string{profile.TTFT32k},
		Values: []profile.Value{{Key: profile.ChatTTFT, Value: &v, Normalised: &n}, {Key: profile.TTFT32k, Note: "skipped: context 8192"}},
	}}}
	var b strings.Builder
	if err := profileTable(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `
Profile standard/1 (reference reference-laptop/1 = 100; power: ac)

m: score 174.1 (partial)
  Chat TTFT p50              150.000 ms  (200.0 against the reference)
  TTFT p50 at 32k input      –  skipped: context 8192
  GPU temperature (peak)     – → –
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
