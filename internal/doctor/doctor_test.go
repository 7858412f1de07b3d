package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/sim/dialect"
	"flperf/internal/store"
)

// render returns the report's JSON and text forms.
func render(t *testing.T, r *Report) (string, string) {
	t.Helper()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	return string(js), txt.String()
}

// identityLeaks returns what of this process's host, user and home
// directory appears in out, by the Scrubber's rule: names of three
// characters or more anywhere, shorter ones as whole words.
func identityLeaks(t *testing.T, out string) []string {
	t.Helper()
	var leaks []string
	host, _ := os.Hostname()
	home, _ := os.UserHomeDir()
	var name string
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	low := strings.ToLower(out)
	for _, s := range []string{host, name} {
		if s == "" || strings.EqualFold(s, "localhost") {
			continue
		}
		s = strings.ToLower(s)
		if len(s) >= 3 && strings.Contains(low, s) {
			leaks = append(leaks, s)
		}
		if len(s) < 3 {
			for _, w := range strings.FieldsFunc(low, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
			}) {
				if w == s {
					leaks = append(leaks, s)
					break
				}
			}
		}
	}
	if h := strings.TrimRight(home, "/"); len(h) > 1 && strings.Contains(low, strings.ToLower(h)) {
		leaks = append(leaks, home)
	}
	return leaks
}

// On this machine: the JSON parses with every section, the database
// under the home directory is named with ~, and neither form names the
// host, the user or the home directory.
func TestThisMachine(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		t.Skip("no home directory")
	}
	db := filepath.Join(home, ".flperf-doctor-test-absent", "flperf.db") // Check creates nothing
	r := Gather(context.Background(), Options{DBPath: db, Ports: []engine.Port{}})
	js, txt := render(t, r)
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"generated_at", "flperf", "system", "engines", "foundry", "data", "suggestions", "hardware"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	if r.Flperf.Go != runtime.Version() || r.System.Arch != runtime.GOARCH || r.System.Platform != runtime.GOOS+"/"+runtime.GOARCH || r.System.OS == "" {
		t.Errorf("build/system = %+v / %+v", r.Flperf, r.System)
	}
	if r.Data.DB.Path != "~/.flperf-doctor-test-absent/flperf.db" || r.Data.Dir != "~/.flperf-doctor-test-absent" || r.Data.DB.Exists {
		t.Errorf("data = %+v", r.Data)
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Fatalf("doctor created the database's directory (stat: %v)", err)
	}
	if len(r.Suggestions) == 0 || !strings.Contains(txt, "Suggestions\n  - ") {
		t.Errorf("no suggestions:\n%s", txt)
	}
	for _, out := range []string{js, txt} {
		if leaks := identityLeaks(t, out); len(leaks) > 0 {
			t.Errorf("output names %q:\n%s", leaks, out)
		}
	}
}

// The Scrubber takes a home directory, user and host out of every string
// of the report, the hardware's included.
func TestScrub(t *testing.T) {
	s := NewScrubber("/home/alice", "alice", "build-box-7.example.com")
	model := "cpu of alice on BUILD-BOX-7"
	r := &Report{Data: Data{Dir: "/home/alice/.local/share/flperf"}, Suggestions: []string{"move /home/alice/x.db aside", "host build-box-7.example.com"}}
	r.Hardware.CPU.Model = &model
	Scrub(r, s)
	if r.Data.Dir != "~/.local/share/flperf" || r.Suggestions[0] != "move ~/x.db aside" || r.Suggestions[1] != "host <host>" || *r.Hardware.CPU.Model != "cpu of <user> on <host>" {
		t.Fatalf("scrubbed: %q %q %q", r.Data.Dir, r.Suggestions, *r.Hardware.CPU.Model)
	}
	short := NewScrubber(`C:\Users\Al`, "al", "vm")
	if got := short.String(`c:\users\al\flperf.db on vm (kvm, algebra), user al`); got != `~\flperf.db on <host> (kvm, algebra), user <user>` {
		t.Fatalf("short names: %q", got)
	}
}

// fakeLegacyCLI writes a `foundry` of CLI 0.8 (service status, --version)
// first on PATH, reporting base.
func fakeLegacyCLI(t *testing.T, base string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake foundry CLI is a shell script")
	}
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
case "$*" in
"--version") echo "0.8.119+9b4a8e0f8d";;
"service status") echo "🟢 Model management service is running on %s/openai/status";;
*) echo "unexpected: $*" >&2; exit 2;;
esac
`, base)
	if err := os.WriteFile(filepath.Join(dir, "foundry"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// fake1xCLI writes the simulated service's CLI 0.10+ first on PATH,
// reporting base.
func fake1xCLI(t *testing.T, d *dialect.Foundry, base string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake foundry CLI is a shell script")
	}
	dir := t.TempDir()
	if _, err := d.WriteCLI(dir, base, dialect.FoundryCLIOptions{Version: "0.10.1+sim"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func newFoundry(t *testing.T, gen string) *dialect.Foundry {
	t.Helper()
	d, err := dialect.NewFoundry(dialect.FoundryOptions{Generation: gen})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// noFoundryProcess is a process list without Foundry Local.
func noFoundryProcess(context.Context) ([]string, error) {
	return []string{"init", "bash", "flperf"}, nil
}

// Both CLI generations: a service that answers where the CLI says is
// healthy, with the CLI's version and generation; one that reports an
// address nothing accepts gets the diagnosis, naming Windows ARM64 only on
// windows/arm64.
func TestFoundryGenerations(t *testing.T) {
	for _, gen := range []string{dialect.FoundryLegacy, dialect.Foundry1x} {
		t.Run(gen, func(t *testing.T) {
			d := newFoundry(t, gen)
			ts := httptest.NewServer(d)
			t.Cleanup(ts.Close)
			install := func(base string) {
				if gen == dialect.Foundry1x {
					fake1xCLI(t, d, base)
				} else {
					fakeLegacyCLI(t, base)
				}
			}
			wantGen, wantVer, restart := "legacy", "0.8.119+9b4a8e0f8d", "foundry service restart"
			if gen == dialect.Foundry1x {
				wantGen, wantVer, restart = "1.x", "0.10.1+sim", "foundry server stop && foundry server start"
			}

			install(ts.URL)
			r := Gather(context.Background(), Options{DBPath: filepath.Join(t.TempDir(), "x.db"), Ports: []engine.Port{}, Processes: noFoundryProcess})
			f := r.Foundry
			if !f.Installed || f.CLIVersion != wantVer || f.Generation != wantGen || !f.Running || f.Endpoint != ts.URL+"/v1" ||
				f.Port != "accepting" || !f.Answers || f.Diagnosis != "" || len(f.Status) == 0 {
				t.Fatalf("healthy service: %+v", f)
			}
			if len(r.Engines) != 1 || r.Engines[0].Kind != "foundry" || !r.Engines[0].Healthy || r.Engines[0].Version != "CLI "+wantVer {
				t.Fatalf("engines: %+v", r.Engines)
			}

			dead := closedPort(t)
			install(dead)
			for _, plat := range [][2]string{{"windows", "arm64"}, {"linux", "amd64"}, {"windows", "amd64"}} {
				r := Gather(context.Background(), Options{DBPath: filepath.Join(t.TempDir(), "x.db"), Ports: []engine.Port{},
					Processes: noFoundryProcess, GOOS: plat[0], GOARCH: plat[1]})
				f := r.Foundry
				_, txt := render(t, r)
				if !f.Running || f.Endpoint != dead+"/v1" || f.Port != "refused" || f.Answers || f.ProcessRunning == nil || *f.ProcessRunning {
					t.Fatalf("%v: %+v", plat, f)
				}
				for _, want := range []string{"says the service is running at " + dead + "/v1", "nothing accepts connections there", "no Foundry Local process is running"} {
					if !strings.Contains(f.Diagnosis, want) {
						t.Errorf("%v: diagnosis lacks %q: %s", plat, want, f.Diagnosis)
					}
				}
				arm := plat == [2]string{"windows", "arm64"}
				if strings.Contains(f.Diagnosis, "ARM64") != arm || strings.Contains(txt, "ARM64") != arm {
					t.Errorf("%v: ARM64 named = %v, want %v:\n%s", plat, strings.Contains(txt, "ARM64"), arm, txt)
				}
				sg := strings.Join(r.Suggestions, "\n")
				if arm && !strings.Contains(sg, "ollama serve") || !arm && !strings.Contains(sg, "`"+restart+"`") {
					t.Errorf("%v: suggestions: %s", plat, sg)
				}
				if len(r.Engines) != 1 || r.Engines[0].Healthy {
					t.Errorf("%v: engines: %+v", plat, r.Engines)
				}
			}
		})
	}
}

// A CLI that says the service is not running gets the start commands.
func TestFoundryNotRunning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake foundry CLI is a shell script")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$*\" in\n\"--version\") echo 0.8.119;;\n\"service status\") echo \"🔴 Model management service is not running!\";;\n*) exit 2;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "foundry"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := Gather(context.Background(), Options{DBPath: filepath.Join(t.TempDir(), "x.db"), Ports: []engine.Port{}, Processes: noFoundryProcess})
	if !r.Foundry.Installed || r.Foundry.Running || !strings.Contains(strings.Join(r.Suggestions, "\n"), "`foundry service start`") {
		t.Fatalf("not running: %+v %q", r.Foundry, r.Suggestions)
	}
}

// An engine port that accepts connections and never answers is listed as
// not answering, and doctor returns.
func TestHangingEngine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan *Report, 1)
	go func() {
		done <- Gather(ctx, Options{DBPath: filepath.Join(t.TempDir(), "x.db"), Ports: []engine.Port{{Port: port, Hint: engine.Ollama}},
			ProbeTimeout: 300 * time.Millisecond, Command: func(context.Context, string, ...string) ([]byte, error) {
				return nil, &os.PathError{Op: "exec", Path: "foundry", Err: fmt.Errorf("executable file not found in $PATH")}
			}})
	}()
	var r *Report
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("doctor did not return within a minute of an engine that never answers")
	}
	if len(r.Engines) != 1 || r.Engines[0].Healthy || r.Engines[0].Kind != "ollama" || !strings.Contains(r.Engines[0].Note, "did not identify itself") {
		t.Fatalf("engines: %+v", r.Engines)
	}
	if !strings.Contains(strings.Join(r.Suggestions, "\n"), fmt.Sprintf("127.0.0.1:%d/v1 does not answer in time", port)) {
		t.Fatalf("suggestions: %q", r.Suggestions)
	}
}

// A damaged database is reported by its integrity check, and suggested
// to be moved aside; a sound one is ok.
func TestDatabaseCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flperf.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	opts := Options{DBPath: path, Ports: []engine.Port{}, Processes: noFoundryProcess}
	r := Gather(context.Background(), opts)
	if !r.Data.DB.Exists || !r.Data.DB.OK || r.Data.DB.Check != "integrity_check" {
		t.Fatalf("sound database: %+v", r.Data)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2 * 4096; i+64 <= len(b); i += 4096 {
		for j := range 64 {
			b[i+j] = byte(0x5A ^ j)
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = Gather(context.Background(), opts)
	_, txt := render(t, r)
	if r.Data.DB.OK || len(r.Data.DB.Problems) == 0 || !strings.Contains(txt, "DAMAGED") ||
		!strings.Contains(strings.Join(r.Suggestions, "\n"), "The database is damaged") {
		t.Fatalf("damaged database: %+v\n%s", r.Data, txt)
	}
}
