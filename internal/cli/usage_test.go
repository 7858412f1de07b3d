package cli

import (
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestRunUsageErrors checks that bad flags and input files exit with code
// 2 before anything is sent to the engine (not even the identification
// probes), naming every problem.
func TestRunUsageErrors(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	badSuite := writeFile(t, "bad-suite.json", `{"name":"bad","scenarios":[
 {"name":"fine","prompt":"Hello.","max_tokens":5},
 {"name":"broken","prompt":"Hello again.","max_tokens":0}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"every bad flag named at once", []string{"--concurrency", "0", "--temperature", "3", "--format", "xml", "--slo", "ttft=fast"},
			[]string{"--concurrency", "--temperature", "--format", "--slo"}},
		{"rate with concurrency", []string{"--rate", "5", "--concurrency", "4"}, []string{"--concurrency", "--rate"}},
		{"max-in-flight without rate", []string{"--max-in-flight", "3"}, []string{"--max-in-flight", "--rate"}},
		{"arrival without rate", []string{"--arrival", "poisson"}, []string{"--arrival", "--rate"}},
		{"positional argument", []string{"extra"}, []string{`unexpected argument "extra"`}},
		{"undefined flag", []string{"--bogus"}, []string{"bogus"}},
		{"bad number", []string{"--requests", "many"}, []string{"requests"}},
		{"temperature not a number", []string{"--temperature", "NaN"}, []string{"temperature", `"NaN"`}},
		{"temperature with trailing junk", []string{"--temperature", "0.5abc"}, []string{"temperature", `"0.5abc"`}},
		{"bad seed", []string{"--seed", "abc"}, []string{"--seed", `"abc"`}},
		{"bad engine kind", []string{"--engine", "gpt5"}, []string{"--engine", "gpt5"}},
		{"negative warmup", []string{"--warmup", "-1"}, []string{"--warmup"}},
		{"too many retries", []string{"--retries", "11"}, []string{"--retries: must be between 0 and 10, got 11"}},
		{"control character in model", []string{"--model", "a\nb"}, []string{"--model", "control"}},
		{"bad suite file", []string{"--suite", badSuite}, []string{badSuite, "scenario 2", `"broken"`, "max_tokens"}},
		{"suite path without .json", []string{"--suite", "../../etc/passwd"}, []string{"../../etc/passwd", "never looked up as paths"}},
		{"missing suite file", []string{"--suite", "/no/such/suite.json"}, []string{"/no/such/suite.json"}},
		{"endpoint not http", []string{"--endpoint", "file:///etc/passwd"}, []string{"--endpoint", "http://"}},
		{"endpoint not a URL", []string{"--endpoint", "http://u:pw@[::1"}, []string{"--endpoint"}},
		{"empty model", []string{"--model", ""}, []string{"model", "empty"}},
		{"empty model in a list", []string{"--model", "a,,b"}, []string{"model", "empty"}},
		{"out is a directory", []string{"--out", os.TempDir()}, []string{"--out", "is a directory"}},
		{"unknown scenario", []string{"--scenario", "Nope"}, []string{`"Nope"`, "available scenarios", `"Simple Q&A - Short"`, `"Long Input - Prefill"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--endpoint", s.base, "--model", "tiny", "--requests", "1", "--warmup", "0"}, tc.args...)
			o := run(t, args...)
			wantCode(t, o, ExitUsage)
			for _, w := range tc.want {
				if !strings.Contains(o.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, o.stderr)
				}
			}
			if n := strings.Count(o.stderr, "flperf run:"); n != 1 {
				t.Errorf("%d error messages, want all problems in one:\n%s", n, o.stderr)
			}
			if strings.Contains(o.stderr, "root:") {
				t.Errorf("stderr shows the contents of a file it should not have read:\n%s", o.stderr)
			}
			if o.stdout != "" {
				t.Errorf("stdout %q, want nothing on a usage error", o.stdout)
			}
			if reqs := s.all(); len(reqs) != 0 {
				t.Errorf("the engine got %d requests (first %s %s) although the flags were bad", len(reqs), reqs[0].method, reqs[0].path)
			}
		})
	}
}

// TestRunEndpointNotAnswering checks that an endpoint where nothing listens
// fails with exit code 1 and says so.
func TestRunEndpointNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := run(t, "run", "--endpoint", "http://"+addr, "--model", "m", "--requests", "1", "--warmup", "0")
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "nothing answers at http://"+addr+"/v1") {
		t.Errorf("stderr does not say that nothing answers at the endpoint:\n%s", o.stderr)
	}
	if o.stdout != "" {
		t.Errorf("stdout %q, want nothing", o.stdout)
	}
}

// TestCommands checks the small commands and the top-level usage. With
// no arguments flperf starts the app (TestNoArgumentsStartsTheApp).
func TestCommands(t *testing.T) {
	t.Run("unknown command", func(t *testing.T) {
		o := run(t, "frobnicate")
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, `unknown command "frobnicate"`) || !strings.Contains(o.stderr, "Usage:") {
			t.Errorf("stderr does not name the command and show usage:\n%s", o.stderr)
		}
	})
	for _, h := range []string{"help", "-h", "--help"} {
		t.Run(h, func(t *testing.T) {
			o := run(t, h)
			wantCode(t, o, ExitOK)
			for _, w := range []string{"Usage:", "flperf run", "flperf sim", "flperf suites", "flperf version"} {
				if !strings.Contains(o.stdout, w) {
					t.Errorf("help does not mention %q:\n%s", w, o.stdout)
				}
			}
		})
	}
	for _, v := range []string{"version", "--version"} {
		t.Run(v, func(t *testing.T) {
			o := run(t, v)
			wantCode(t, o, ExitOK)
			if !regexp.MustCompile(`^flperf \S+ \(go\S+ \S+/\S+\)\n$`).MatchString(o.stdout) || !strings.Contains(o.stdout, runtime.Version()) {
				t.Errorf("version output %q", o.stdout)
			}
		})
	}
	t.Run("suites", func(t *testing.T) {
		o := run(t, "suites")
		wantCode(t, o, ExitOK)
		if !regexp.MustCompile(`(?m)^default +10 scenarios `).MatchString(o.stdout) {
			t.Errorf("suites does not list default with its 10 scenarios:\n%s", o.stdout)
		}
	})
	t.Run("suites default", func(t *testing.T) {
		o := run(t, "suites", "default")
		wantCode(t, o, ExitOK)
		var rows []string
		for _, l := range strings.Split(o.stdout, "\n") {
			if strings.HasPrefix(l, "  ") {
				rows = append(rows, l)
			}
		}
		if len(rows) != 10 {
			t.Errorf("%d scenario rows, want 10:\n%s", len(rows), o.stdout)
		}
		for _, name := range []string{"Simple Q&A - Short", "Code Generation", "Long Input - Prefill"} {
			if !strings.Contains(o.stdout, "  "+name+" ") {
				t.Errorf("scenario %q not listed:\n%s", name, o.stdout)
			}
		}
	})
	t.Run("suites unknown", func(t *testing.T) {
		for _, name := range []string{"nope", "../../etc/passwd"} {
			o := run(t, "suites", name)
			wantCode(t, o, ExitUsage)
			if !strings.Contains(o.stderr, name) || o.stdout != "" {
				t.Errorf("suites %s: stdout %q stderr %q", name, o.stdout, o.stderr)
			}
		}
	})
}

// runFlagSet is the documented, stable set of `flperf run` flags.
var runFlagSet = []string{"endpoint", "engine", "api-key", "model", "suite", "scenario", "requests", "duration",
	"concurrency", "rate", "arrival", "max-in-flight", "on-full", "oversaturation", "warmup", "timeout", "max-tokens", "temperature",
	"no-stream", "slo", "seed", "no-cache-bust", "format", "out", "no-progress", "db", "no-save", "ollama-native", "fixed-output", "cold", "dataset", "dataset-sample", "dataset-filter", "sample-interval", "engine-pid", "sweep",
	"retries", "metrics-listen", "metrics-token", "prefix-tokens", "prefix-cache", "input-tokens", "context-sweep", "force",
	"push", "push-token", "push-insecure"}

// TestRunHelp checks that `flperf run -h` exits 0 and lists exactly the
// documented flags, with the FLPERF_* variable of each one that has one.
func TestRunHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		o := run(t, "run", h)
		wantCode(t, o, ExitOK)
		if o.stderr != "" {
			t.Errorf("stderr %q, want help on stdout only", o.stderr)
		}
		var got []string
		for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(o.stdout, -1) {
			got = append(got, m[1])
		}
		want := append(slices.Clone(runFlagSet), "profile") // run's alone (capacity shares the rest)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("flags listed %q, want %q", got, want)
		}
		for _, name := range []string{"endpoint", "engine", "api-key", "model", "suite", "requests", "concurrency",
			"timeout", "max-tokens", "temperature", "seed", "format", "metrics-token"} {
			if env := "[env " + envName(name) + "]"; !strings.Contains(o.stdout, env) {
				t.Errorf("help does not give %s for --%s", env, name)
			}
		}
		if !strings.Contains(o.stdout, "[env FLPERF_REQUESTS]") {
			t.Errorf("help lacks FLPERF_REQUESTS:\n%s", o.stdout)
		}
	}
}
