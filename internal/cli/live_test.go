//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"flperf/internal/load"
	"flperf/internal/sim"
)

// pty is a pseudo-terminal of cols × rows: the program writes to tty, and
// everything it wrote is read from the master side into out.
type pty struct {
	master, tty *os.File
	mu          sync.Mutex
	out         []byte
	read        chan struct{}
}

// openPTY opens a pseudo-terminal (Linux's /dev/ptmx) of the given size.
func openPTY(t *testing.T, cols, rows int) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	ioctl := func(f *os.File, req uintptr, arg unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
			t.Fatalf("ioctl %#x: %v", req, e)
		}
	}
	var unlock int32
	ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n))
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ws := [4]uint16{uint16(rows), uint16(cols), 0, 0}
	ioctl(s, syscall.TIOCSWINSZ, unsafe.Pointer(&ws))
	p := &pty{master: m, tty: s, read: make(chan struct{})}
	go func() {
		defer close(p.read)
		buf := make([]byte, 32<<10)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			p.mu.Unlock()
			if err != nil { // EIO once the terminal side is closed
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return p
}

// output closes the terminal side and returns all that was written to it.
func (p *pty) output(t *testing.T) string {
	t.Helper()
	p.tty.Close()
	select {
	case <-p.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the pseudo-terminal's output did not end")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// sofar is what was written so far.
func (p *pty) sofar() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// screen replays a terminal's output the way a terminal shows it, with
// every line ever shown kept (scrollback and screen alike). It knows the
// codes the live display may send and fails on any other. A line longer
// than the screen wraps, as on a terminal; the live display's lines must
// never (bars, or the run's counts).
func screen(t *testing.T, out string, cols int) (lines []string, cursorShown bool) {
	t.Helper()
	var buf [][]rune
	row, col, shown := 0, 0, true
	line := func() []rune {
		for len(buf) <= row {
			buf = append(buf, nil)
		}
		return buf[row]
	}
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\r':
			col = 0
		case '\n':
			row++
		case '\x1b':
			j := i + 1
			if j >= len(rs) || rs[j] != '[' {
				t.Fatalf("escape without [ at %d: %q", i, string(rs[i:min(i+10, len(rs))]))
			}
			j++
			k := j
			for k < len(rs) && (rs[k] >= '0' && rs[k] <= '9' || rs[k] == '?') {
				k++
			}
			if k >= len(rs) {
				t.Fatalf("escape cut short at %d", i)
			}
			arg, final := string(rs[j:k]), rs[k]
			switch {
			case arg == "?25" && final == 'l':
				shown = false
			case arg == "?25" && final == 'h':
				shown = true
			case final == 'A':
				n := 1
				if arg != "" {
					n, _ = strconv.Atoi(arg)
				}
				row = max(row-n, 0)
			case final == 'J' && arg == "": // clear to the end of the screen
				l := line()
				buf[row] = l[:min(col, len(l))]
				buf = buf[:row+1]
			case final == 'K' && arg == "":
				l := line()
				buf[row] = l[:min(col, len(l))]
			default:
				t.Fatalf("unexpected escape code %q", string(rs[i:k+1]))
			}
			i = k
		default:
			if col == cols {
				if w := string(line()); strings.ContainsAny(w, "█░") || liveRunLine.MatchString(w) {
					t.Fatalf("a line of the live display wrapped: %q", w)
				}
				row, col = row+1, 0
			}
			l := line()
			for len(l) <= col {
				l = append(l, ' ')
			}
			l[col] = c
			buf[row] = l
			col++
		}
	}
	for _, l := range buf {
		lines = append(lines, strings.TrimRight(string(l), " "))
	}
	return lines, shown
}

// liveRunLine matches the live display's last line.
var liveRunLine = regexp.MustCompile(`^\d+/\S+ requests  `)

// runOnPTY runs flperf in-process with standard output and error on a
// pseudo-terminal of cols columns and returns its exit code and output;
// during (when set) runs beside it with the terminal's output so far and
// the run's stop function.
func runOnPTY(t *testing.T, cols int, vars map[string]string, during func(p *pty, stop func()), args ...string) (int, string) {
	t.Helper()
	p := openPTY(t, cols, 50)
	parent, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx, stop := load.WithStop(parent)
	env := &Env{Stdin: strings.NewReader(""), Stdout: p.tty, Stderr: p.tty, Getenv: func(k string) string { return vars[k] }}
	code := make(chan int, 1)
	go func() { code <- dispatch(ctx, env, args) }()
	if during != nil {
		during(p, stop)
	}
	c := <-code
	return c, p.output(t)
}

// tableRow finds the report table's row of model × scenario × load and
// returns its cells (split where tabwriter put two spaces or more).
func tableRow(t *testing.T, lines []string, model, scenario, stage string) []string {
	t.Helper()
	sep := regexp.MustCompile(`\s{2,}`)
	for _, l := range lines {
		cells := sep.Split(strings.TrimSpace(l), -1)
		if len(cells) > 8 && cells[0] == model && cells[1] == scenario && cells[2] == stage {
			return cells
		}
	}
	t.Fatalf("no table row for %s / %s / %s", model, scenario, stage)
	return nil
}

// TestLiveDisplayOnATerminal runs a sweep of two models (one named by a
// file path) × two scenarios × two load levels on a pseudo-terminal and
// reads the screen as a terminal shows it: one line per stage with a full
// bar and figures equal to the report's row for it (TTFT p50/p95, decode
// rate, output tokens/s, errors), the model by its file name, the run's
// last line, then the report on lines of its own, the cursor shown again
// and no line ever wrapped.
func TestLiveDisplayOnATerminal(t *testing.T) {
	slow := sim.Profile{Name: "sim-b", TTFT: 15 * time.Millisecond, DecodeTPS: 800, TokensPerChunk: 1, Usage: true, Seed: 5}
	ts := startTestSim(t, fastProfile("/models/x/rand-24M.gguf"), slow)
	suitePath := writeFile(t, "tiny.json", tinySuite)
	const cols = 250 // the report's table fits: its rows are read back
	code, out := runOnPTY(t, cols, nil, nil, "run", "--endpoint", ts.base, "--model", "/models/x/rand-24M.gguf,sim-b",
		"--suite", suitePath, "--requests", "4", "--concurrency", "1,2", "--no-save", "--sample-interval", "off")
	lines, shown := screen(t, out, cols)
	if os.Getenv("FLPERF_SHOW_SCREEN") != "" {
		t.Logf("screen:\n%s\nraw: %q", strings.Join(lines, "\n"), out)
	}
	if code != ExitOK {
		t.Fatalf("exit code %d:\n%s", code, strings.Join(lines, "\n"))
	}
	if !shown {
		t.Error("the cursor is still hidden after the run")
	}
	for _, l := range lines {
		if strings.Contains(l, "/models/x/") && !strings.HasPrefix(l, "flperf: benchmarking ") {
			t.Errorf("a line shows the model's path: %q", l)
		}
	}
	report := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "FLPerformance run ") {
			report = i
		}
	}
	if report < 0 {
		t.Fatalf("no report on the screen:\n%s", strings.Join(lines, "\n"))
	}
	// 8 stages of 4 requests, and each model's warm-up.
	if !strings.HasPrefix(lines[report-1], "34/34 requests  0 errors  8 stages  ") {
		t.Errorf("the line before the report is %q, want the run's final line", lines[report-1])
	}
	for _, model := range []string{"rand-24M.gguf", "sim-b"} {
		for _, sc := range []string{"alpha", "beta"} {
			for _, st := range []string{"c=1", "c=2"} {
				name := model + " · " + sc + " · " + st + "  "
				var found []string
				for _, l := range lines[:report] {
					if strings.HasPrefix(l, name) {
						found = append(found, l)
					}
				}
				if len(found) != 1 {
					t.Errorf("stage %s: %d lines on the screen, want 1:\n%s", name, len(found), strings.Join(lines[:report], "\n"))
					continue
				}
				row := tableRow(t, lines[report:], model, sc, st)
				// MODEL SCENARIO LOAD OK/N ERR TTFT p50 p95 p99 TPOT p50 ITL p99 DECODE E2E p50 p95 REQ/s OUT tok/s …
				want := fmt.Sprintf("[████████████████████] 4/4  TTFT p50 %s p95 %s ms  decode %s tok/s  out %s tok/s  err 0 (%s)",
					row[5], row[6], row[10], row[14], row[4])
				if !strings.HasSuffix(found[0], want) {
					t.Errorf("stage line\n%q\ndoes not end with the report's figures\n%q", found[0], want)
				}
			}
		}
	}
}

// TestLiveDisplayInterrupted stops a run on a pseudo-terminal the way the
// first Ctrl-C does (the notice, then no new requests): the notice shows
// on a line of its own above the display, the stage's bar stops where it
// was, the run ends interrupted with its report, and the cursor is back.
func TestLiveDisplayInterrupted(t *testing.T) {
	slow := sim.Profile{Name: "sim-c", TTFT: 20 * time.Millisecond, DecodeTPS: 400, TokensPerChunk: 1, Usage: true, Seed: 5}
	ts := startTestSim(t, slow)
	const cols = 80 // the display's lines are cut to fit
	notice := "flperf: stopping: no new requests; waiting for requests in flight (press Ctrl-C again to cancel them)"
	code, out := runOnPTY(t, cols, nil, func(p *pty, stop func()) {
		waitFor(t, time.Minute, "the display's stage line", func() bool { return strings.Contains(p.sofar(), "sim-c · only  [") })
		signalNotice(notice)
		stop()
	}, "run", "--endpoint", ts.base, "--model", "sim-c", "--suite", writeFile(t, "one.json", oneSuite), "--requests", "1000",
		"--no-save", "--sample-interval", "off")
	lines, shown := screen(t, out, cols)
	if code != ExitInterrupted || !shown {
		t.Fatalf("exit code %d, cursor shown %v:\n%s", code, shown, strings.Join(lines, "\n"))
	}
	iNotice, iStage, iReport := -1, -1, -1
	for i, l := range lines {
		switch {
		case l == strings.TrimRight(notice[:cols], " "): // it wraps: a line of its own
			iNotice = i
		case strings.HasPrefix(l, "sim-c · only  ["):
			if iStage >= 0 {
				t.Errorf("two lines for the one stage: %q and %q", lines[iStage], l)
			}
			iStage = i
		case strings.HasPrefix(l, "FLPerformance run "):
			iReport = i
		}
	}
	if iNotice < 0 || iStage < iNotice || iReport < iStage {
		t.Fatalf("notice at %d, stage at %d, report at %d:\n%s", iNotice, iStage, iReport, strings.Join(lines, "\n"))
	}
	if m := regexp.MustCompile(` (\d+)/1000  `).FindStringSubmatch(lines[iStage]); m == nil || m[1] == "1000" || m[1] == "0" {
		t.Errorf("stage line %q: want the requests done before the stop, out of 1000", lines[iStage])
	}
}

// TestNoLiveDisplayOffATerminal checks where the display is never drawn:
// output to files, CI=true on a terminal, --no-progress on a terminal. In
// each, the run's plain lines are there and no terminal code is.
func TestNoLiveDisplayOffATerminal(t *testing.T) {
	ts := startTestSim(t, fastProfile("m"))
	suitePath := writeFile(t, "one.json", oneSuite)
	args := []string{"run", "--endpoint", ts.base, "--model", "m", "--suite", suitePath, "--requests", "3", "--no-save", "--sample-interval", "off"}
	t.Run("files", func(t *testing.T) {
		dir := t.TempDir()
		stdout, err1 := os.Create(dir + "/out")
		stderr, err2 := os.Create(dir + "/err")
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		env := &Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }}
		if code := dispatch(context.Background(), env, args); code != ExitOK {
			t.Fatalf("exit code %d", code)
		}
		stdout.Close()
		stderr.Close()
		for _, f := range []string{"out", "err"} {
			b, err := os.ReadFile(dir + "/" + f)
			if err != nil {
				t.Fatal(err)
			}
			noTerminalCodes(t, string(b), f)
			if f == "err" && !strings.Contains(string(b), "flperf: benchmarking m on ") {
				t.Errorf("stderr lacks the plain lines: %q", b)
			}
		}
	})
	for name, c := range map[string]struct {
		vars map[string]string
		args []string
	}{"CI=true": {map[string]string{"CI": "true"}, nil}, "--no-progress": {nil, []string{"--no-progress"}}} {
		t.Run(name, func(t *testing.T) {
			code, out := runOnPTY(t, 120, c.vars, nil, append(args, c.args...)...)
			if code != ExitOK {
				t.Fatalf("exit code %d: %s", code, out)
			}
			if strings.Contains(out, "\x1b") || strings.Contains(out, "█") {
				t.Errorf("terminal codes or bars: %q", out)
			}
			if !strings.Contains(out, "flperf: benchmarking m on ") || !strings.Contains(out, "FLPerformance run ") {
				t.Errorf("the plain lines or the report are missing: %q", out)
			}
		})
	}
}

// TestFit checks that a line is cut to one column less than the width,
// by runes, and left whole when it fits or the width is unknown.
func TestFit(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  string
	}{
		{"abcdef", 4, "abc"}, {"[██░░] x", 5, "[██░"}, {"abc", 4, "abc"}, {"abcd", 4, "abc"}, {"abcdef", 0, "abcdef"},
	} {
		if got := fit(c.s, c.width); got != c.want {
			t.Errorf("fit(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
	}
}
