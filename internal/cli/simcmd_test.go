package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/load"
)

// serveSim runs `flperf sim args...` until the test ends, and returns the
// base URL it prints, the function that ends it (stop: the first interrupt
// stage, or cancel: the second) and its exit code once ended.
func serveSim(t *testing.T, args ...string) (base string, stop, cancel func(), code <-chan int) {
	t.Helper()
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, stopCtx := load.WithStop(parent)
	var out, errb syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	c := make(chan int, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c <- dispatch(ctx, env, append([]string{"sim"}, args...))
	}()
	t.Cleanup(func() {
		cancelParent()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Error("flperf sim did not end after its context was cancelled")
		}
	})
	re := regexp.MustCompile(`OpenAI base URL: (http://127\.0\.0\.1:\d+/v1)\n`)
	waitFor(t, 10*time.Second, "the base URL", func() bool {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			return true
		}
		select {
		case <-ended:
			t.Fatalf("flperf sim exited with %d:\n%s", <-c, errb.String())
		default:
		}
		return false
	})
	if !strings.Contains(out.String(), "SIMULATED") {
		t.Errorf("flperf sim does not say it is simulated:\n%s", out.String())
	}
	return base, stopCtx, cancelParent, c
}

// modelIDs lists the models at base.
func modelIDs(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func wantExit(t *testing.T, code <-chan int, want int) {
	t.Helper()
	select {
	case got := <-code:
		if got != want {
			t.Errorf("flperf sim exited with %d, want %d", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flperf sim did not end")
	}
}

// TestSimCommand checks `flperf sim`: it prints its base URL, serves the
// two default models, and exits 0 on either interrupt stage. Its address
// flag is --listen, as on `flperf serve`; --addr is an alias.
func TestSimCommand(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		base, _, cancel, code := serveSim(t, "--listen", "127.0.0.1:0")
		if ids := modelIDs(t, base); !slices.Equal(ids, []string{"sim-fast", "sim-slow"}) {
			t.Errorf("models %q, want sim-fast and sim-slow", ids)
		}
		cancel()
		wantExit(t, code, ExitOK)
	})
	t.Run("stop, --addr alias", func(t *testing.T) {
		_, stop, _, code := serveSim(t, "--addr", "127.0.0.1:0")
		stop()
		wantExit(t, code, ExitOK)
	})
	t.Run("profiles file", func(t *testing.T) {
		path := writeFile(t, "profiles.json", `[{"name":"mine","ttft":"5ms","decode_tps":500,"faults":{"stall_for":"1s"}}]`)
		base, _, cancel, code := serveSim(t, "--addr", "127.0.0.1:0", "--profiles", path)
		if ids := modelIDs(t, base); !slices.Equal(ids, []string{"mine"}) {
			t.Errorf("models %q, want the file's one model", ids)
		}
		// A run against it without --model benchmarks the model it serves.
		o := run(t, "run", "--endpoint", base, "--suite", writeFile(t, "one.json", oneSuite), "--requests", "1",
			"--warmup", "0", "--format", "csv")
		wantCode(t, o, ExitOK)
		if !strings.Contains(o.stdout, ",mine,only,") {
			t.Errorf("the run did not benchmark the served model:\n%s", o.stdout)
		}
		cancel()
		wantExit(t, code, ExitOK)
	})
}

// TestSimCommandRefuses checks that `flperf sim` refuses a non-loopback
// address and bad --profiles files, naming the problem, without serving.
func TestSimCommandRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		profiles string // file content; "" for none
		args     []string
		code     int // -1: any failure
		want     []string
	}{
		{"all interfaces", "", []string{"--listen", "0.0.0.0:8090"}, -1, []string{"0.0.0.0:8090", "loopback"}},
		{"alias disagrees", "", []string{"--addr", "127.0.0.1:1"}, ExitUsage, []string{"--addr", "--listen", "alias", "127.0.0.1:1"}},
		{"bad duration", `[{"name":"mine","decode_tps":500,"ttft":"fast"}]`, nil, ExitUsage, []string{`"mine"`, "ttft", `"fast"`}},
		{"bad nested duration", `[{"name":"mine","decode_tps":500,"faults":{"stall_for":"soon"}}]`, nil, ExitUsage, []string{"faults.stall_for"}},
		{"unknown field", `[{"name":"mine","decode_tps":500,"ttft_ms":5}]`, nil, ExitUsage, []string{"ttft_ms"}},
		{"invalid value", `[{"name":"mine","decode_tps":0}]`, nil, ExitUsage, []string{`"mine"`, "DecodeTPS"}},
		{"not JSON", `{"name":`, nil, ExitUsage, []string{"profiles"}},
		{"error rate", "", []string{"--error-rate", "2"}, ExitUsage, []string{"--error-rate"}},
		{"positional", "", []string{"extra"}, ExitUsage, []string{`"extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"sim", "--listen", "127.0.0.1:0"}, tc.args...)
			var path string
			if tc.profiles != "" {
				path = writeFile(t, "profiles.json", tc.profiles)
				args = append(args, "--profiles", path)
				tc.want = append(tc.want, path)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o := cli(t, ctx, nil, args...)
			if tc.code >= 0 {
				wantCode(t, o, tc.code)
			} else if o.code == ExitOK {
				t.Fatalf("exit code 0, want a failure\nstderr:\n%s", o.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, o.stderr)
				}
			}
			if strings.Contains(o.stdout, "OpenAI base URL") {
				t.Errorf("it served although it should have refused:\n%s", o.stdout)
			}
		})
	}
}
