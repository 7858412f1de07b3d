package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIKeyNeverShown checks that the API key, from --api-key or
// FLPERF_API_KEY, is sent to the engine as a Bearer token and appears in
// no output: not on stdout or stderr in any format, not in the stored
// configuration or repeat command, not in a file written with --out.
func TestAPIKeyNeverShown(t *testing.T) {
	const key = "sekret-123"
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	base := []string{"run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "1", "--warmup", "0"}
	check := func(t *testing.T, o outcome, extra string) {
		t.Helper()
		wantCode(t, o, ExitOK)
		for where, text := range map[string]string{"stdout": o.stdout, "stderr": o.stderr, "output file": extra} {
			if strings.Contains(text, key) {
				t.Errorf("the API key appears in %s:\n%s", where, text)
			}
		}
	}
	for _, format := range []string{"table", "json", "jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			o := run(t, append(base, "--api-key", key, "--format", format)...)
			check(t, o, "")
		})
	}
	t.Run("environment and --out", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.json")
		o := cli(t, context.Background(), map[string]string{"FLPERF_API_KEY": key}, append(base, "--format", "json", "--out", path)...)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		check(t, o, string(data))
	})
	chats := s.chats()
	if len(chats) != 5 {
		t.Fatalf("the engine got %d chat requests, want 5", len(chats))
	}
	for i, r := range chats {
		if r.auth != "Bearer "+key {
			t.Errorf("request %d sent Authorization %q, want the key as a Bearer token", i, r.auth)
		}
	}
}

// TestAPIKeyReachesGuardedEndpoint checks that an engine that guards every
// route with its API key (an authenticating proxy, say) is identified and
// benchmarked: the identification probes carry the key too, and no request
// goes out without it.
func TestAPIKeyReachesGuardedEndpoint(t *testing.T) {
	const key = "sekret-456"
	s := startTestSim(t, fastProfile("tiny"))
	s.requireAuth("Bearer " + key)
	o := run(t, "run", "--endpoint", s.base, "--api-key", key, "--model", "tiny", "--suite", writeFile(t, "one.json", oneSuite),
		"--requests", "2", "--warmup", "0", "--format", "jsonl")
	wantCode(t, o, ExitOK)
	for _, r := range jsonlRecords(t, o.stdout) {
		if oc := str(t, r, "outcome"); oc != "ok" {
			t.Errorf("outcome %q, want ok", oc)
		}
	}
	for _, r := range s.all() {
		if r.auth != "Bearer "+key {
			t.Errorf("%s %s went out without the API key", r.method, r.path)
		}
	}
	if strings.Contains(o.stdout+o.stderr, key) {
		t.Errorf("the API key appears in the output:\n%s\n%s", o.stdout, o.stderr)
	}
}
