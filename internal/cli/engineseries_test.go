package cli

import (
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestRunShowsEngineSeries runs `flperf run` at twice the slots of a
// simulated vLLM and checks that the report has the engine's own view of
// the stage (read every 500 ms: the sample interval is shorter), with the
// peaks the simulator's queue can reach and no more, and that `flperf
// show` prints the same block from the stored series.
func TestRunShowsEngineSeries(t *testing.T) {
	v, err := dialect.NewVLLM(sim.Profile{Name: "q", TTFT: 5 * time.Millisecond, DecodeTPS: 200, Slots: 2, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "q.db")
	o := run(t, "run", "--endpoint", srv.URL+"/v1", "--model", "q", "--scenario", "Simple Q&A - Short", "--max-tokens", "40",
		"--concurrency", "4", "--requests", "16", "--warmup", "0", "--sample-interval", "100ms", "--db", db)
	wantCode(t, o, ExitOK)
	block := engineBlock(o.stdout)
	if !strings.HasPrefix(block, "Engine's own view (vllm, read every 500 ms, ") {
		t.Fatalf("no engine block in the report:\n%s", o.stdout)
	}
	line := regexp.MustCompile(`q × Simple Q&A - Short: running [0-9.]+/([0-9]+), waiting [0-9.]+/([0-9]+), KV [0-9.]+/([0-9.]+) %`).FindStringSubmatch(block)
	if line == nil {
		t.Fatalf("no stage line in:\n%s", block)
	}
	busy, _ := strconv.Atoi(line[1])
	wait, _ := strconv.Atoi(line[2])
	if busy < 1 || busy > 2 || wait > 2 || line[3] != strconv.Itoa(50*busy) {
		t.Errorf("stage peaks running %s, waiting %s, KV %s %%: want at most the 2 slots busy, at most 2 waiting, KV = running/slots", line[1], line[2], line[3])
	}
	t.Logf("%s", block)
	id := regexp.MustCompile(`FLPerformance run (\S+)`).FindStringSubmatch(o.stdout)
	if id == nil {
		t.Fatalf("no run id in:\n%s", o.stdout)
	}
	s := run(t, "show", id[1], "--db", db)
	wantCode(t, s, ExitOK)
	if got := engineBlock(s.stdout); got != block {
		t.Errorf("flperf show prints\n%s\nthe run printed\n%s", got, block)
	}
}

// engineBlock is the report's engine block, up to the next blank line.
func engineBlock(out string) string {
	i := strings.Index(out, "Engine's own view")
	if i < 0 {
		return ""
	}
	block, _, _ := strings.Cut(out[i:], "\n\n")
	return block
}
