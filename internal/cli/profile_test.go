package cli

import (
	"context"
	"strings"
	"testing"
)

func TestRunProfileRefusesWorkloadFlags(t *testing.T) {
	o := cli(t, context.Background(), map[string]string{"FLPERF_REQUESTS": "9"}, "run", "--profile", "standard", "--no-save",
		"--concurrency", "8", "--max-tokens", "64", "--suite", "default", "--engine", "sim")
	wantCode(t, o, ExitUsage)
	for _, want := range []string{
		"--concurrency: the standard/1 profile fixes the workload",
		"--max-tokens: the standard/1 profile fixes the workload",
		"--suite: the standard/1 profile fixes the workload",
		"ignores --requests set by the environment",
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
		}
	}
	if strings.Contains(o.stderr, "--engine:") || strings.Contains(o.stderr, "--no-save:") {
		t.Errorf("a flag a profile keeps was refused:\n%s", o.stderr)
	}
	o = run(t, "run", "--profile", "quick", "--no-save")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, `--profile: unknown profile "quick"`) {
		t.Errorf("stderr: %s", o.stderr)
	}
}
