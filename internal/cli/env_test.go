package cli

import (
	"context"
	"strings"
	"testing"
)

// TestEnvironmentOverrides checks the FLPERF_* variables: they set flags
// (here the endpoint, model, request count and format), a flag on the
// command line beats its variable, and a bad value is a usage error that
// names the variable.
func TestEnvironmentOverrides(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	vars := map[string]string{
		"FLPERF_ENDPOINT": s.base,
		"FLPERF_MODEL":    "tiny",
		"FLPERF_REQUESTS": "3",
		"FLPERF_FORMAT":   "jsonl",
	}
	ctx := context.Background()

	o := cli(t, ctx, vars, "run", "--suite", suitePath, "--warmup", "0")
	wantCode(t, o, ExitOK)
	if n := len(jsonlRecords(t, o.stdout)); n != 2*3 {
		t.Errorf("%d records with FLPERF_REQUESTS=3, want 2 scenarios × 3", n)
	}
	if n := len(s.chats()); n != 2*3 {
		t.Errorf("the engine got %d requests, want 6", n)
	}

	o = cli(t, ctx, vars, "run", "--suite", suitePath, "--warmup", "0", "--requests", "2", "--format", "json")
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)
	for _, g := range objects(t, list(t, doc, "groups")) {
		if n := num(t, g, "requests"); n != 2 {
			t.Errorf("group %v: %v requests, want --requests 2 to beat FLPERF_REQUESTS=3", g["scenario"], n)
		}
	}
	if n := len(s.chats()); n != 6+2*2 {
		t.Errorf("the engine got %d requests in all, want 10", n)
	}

	before := len(s.all())
	bad := map[string]string{"FLPERF_ENDPOINT": s.base, "FLPERF_MODEL": "tiny", "FLPERF_REQUESTS": "lots"}
	o = cli(t, ctx, bad, "run", "--suite", suitePath)
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "FLPERF_REQUESTS") || !strings.Contains(o.stderr, `"lots"`) {
		t.Errorf("stderr does not name the bad variable and its value:\n%s", o.stderr)
	}
	if len(s.all()) != before {
		t.Error("the engine was contacted although a variable was bad")
	}
}
