package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Live display limits.
const (
	liveEvery    = 250 * time.Millisecond // at most 4 redraws a second
	liveBarWidth = 20                     // cells of a stage's bar
)

// isTerminal reports whether w is a terminal (a file whose descriptor
// answers the terminal ioctl; /dev/null, files and pipes do not).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// liveWanted reports whether `flperf run` draws its live display: only
// when standard output and standard error are both a terminal that
// handles ANSI codes, outside CI (CI set, as CI services set it), without
// --no-progress, and with no records streaming to that terminal.
func liveWanted(env *Env, noProgress, recordsToStdout bool) bool {
	ci := env.Getenv("CI")
	if noProgress || recordsToStdout || (ci != "" && ci != "false" && ci != "0") || env.Getenv("TERM") == "dumb" ||
		!isTerminal(env.Stdout) || !isTerminal(env.Stderr) {
		return false
	}
	return enableVT(env.Stderr.(*os.File))
}

// stageID names one model × scenario (× load level) stage.
type stageID struct{ model, scenario, stage string }

// ended is a stage that ended since the last redraw, with its records.
type ended struct {
	id    stageID
	snap  stats.RunningSnapshot
	since time.Duration // how long it ran
}

// liveDisplay is `flperf run`'s display on a terminal: a line per model ×
// scenario (× load level) stage with its progress bar and running figures
// (TTFT p50/p95, decode rate, output tokens/s, errors: stats.Running, the
// figures of the app's live panel and, once a stage is over, of its
// summary row), and a last line with the run's counts and ETA. The
// current stage's line and the run's line are redrawn in place at most
// liveEvery; a stage that ends is printed once and stays, so the display
// never outgrows the screen, and lines are cut to the terminal's width,
// never wrapped. It is a runner.Sink (Add only appends under a lock) and
// takes the runner's Progress; finish draws the last state and gives the
// cursor back.
type liveDisplay struct {
	w     io.Writer
	width func() int // the terminal's columns now (0: unknown)
	plan  load.Plan

	mu      sync.Mutex // the runner's side
	run     stats.Running
	cur     stageID
	has     bool      // a stage began
	started time.Time // when the current stage's first record came
	done    []ended
	prog    runner.Progress
	stages  int // stages begun

	wmu   sync.Mutex // the terminal's side
	lines int        // lines of the live region on the screen
	shown bool       // the cursor was hidden
	live  []string   // the live region as last drawn

	stop, stopped chan struct{}
}

// newLiveDisplay starts the display on w (a terminal) for a run of plan.
func newLiveDisplay(w io.Writer, plan load.Plan) *liveDisplay {
	d := &liveDisplay{w: w, plan: plan, width: func() int { return 0 }, stop: make(chan struct{}), stopped: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		fd := int(f.Fd())
		d.width = func() int {
			if c, _, err := term.GetSize(fd); err == nil {
				return c
			}
			return 0
		}
	}
	go d.tick()
	return d
}

// Add takes one record (runner.Sink). A record of another stage ends the
// current one: stages run one after another.
func (d *liveDisplay) Add(r *record.Record) error {
	id := stageID{r.Model, r.Scenario, r.Stage}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if !d.has || id != d.cur {
		if d.has {
			d.done = append(d.done, ended{d.cur, d.run.Snapshot(d.cur.model, d.cur.scenario, d.cur.stage), now.Sub(d.started)})
		}
		d.run = stats.Running{} // one stage's records at a time
		d.cur, d.has, d.started = id, true, now
		d.stages++
	}
	d.run.Add(r)
	return nil
}

// Close ends the sink (finish draws the end).
func (d *liveDisplay) Close() error { return nil }

// progress takes the runner's Progress.
func (d *liveDisplay) progress(p runner.Progress) {
	d.mu.Lock()
	d.prog = p
	d.mu.Unlock()
}

// println prints msg as a line above the live region, which is redrawn
// under it (the run's warnings and the interrupt notices).
func (d *liveDisplay) println(msg string) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	var b strings.Builder
	d.clearRegion(&b)
	b.WriteString(msg + "\n")
	d.writeRegion(&b, d.live)
	io.WriteString(d.w, b.String())
}

// tick redraws every liveEvery until stopped.
func (d *liveDisplay) tick() {
	defer close(d.stopped)
	t := time.NewTicker(liveEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.draw(false)
		case <-d.stop:
			return
		}
	}
}

// finish stops the redraws, prints the last stage's and the run's final
// lines, and shows the cursor again: what follows (the report) starts on
// a line of its own.
func (d *liveDisplay) finish() {
	close(d.stop)
	<-d.stopped
	d.draw(true)
}

// draw prints the stages that ended and redraws the live region; final
// ends the current stage too and leaves the run's line in place.
func (d *liveDisplay) draw(final bool) {
	d.mu.Lock()
	done, prog, cur, has, stages := d.done, d.prog, d.cur, d.has, d.stages
	d.done = nil
	var snap stats.RunningSnapshot
	since := time.Since(d.started)
	if has {
		snap = d.run.Snapshot(cur.model, cur.scenario, cur.stage)
	}
	d.mu.Unlock()
	if final && has {
		done = append(done, ended{cur, snap, since})
	}

	width := d.width()
	var perm []string
	for _, e := range done {
		perm = append(perm, fit(d.stageLine(e.id, e.snap.Figures(), e.since, true), width))
	}
	var live []string
	if !final && has {
		live = append(live, fit(d.stageLine(cur, snap.Figures(), since, false), width))
	}
	live = append(live, fit(runLine(prog, stages, final), width))

	d.wmu.Lock()
	defer d.wmu.Unlock()
	var b strings.Builder
	if !d.shown {
		b.WriteString("\x1b[?25l") // hide the cursor while drawing
		d.shown = true
	}
	d.clearRegion(&b)
	for _, l := range perm {
		b.WriteString(l + "\n")
	}
	if final {
		for _, l := range live {
			b.WriteString(l + "\n")
		}
		b.WriteString("\x1b[?25h") // the cursor back
		d.live, d.lines = nil, 0
	} else {
		d.writeRegion(&b, live)
	}
	io.WriteString(d.w, b.String())
}

// clearRegion moves to the start of the live region and clears it and
// everything under it.
func (d *liveDisplay) clearRegion(b *strings.Builder) {
	if d.lines == 0 {
		return
	}
	b.WriteString("\r")
	if d.lines > 1 {
		fmt.Fprintf(b, "\x1b[%dA", d.lines-1)
	}
	b.WriteString("\x1b[J")
}

// writeRegion writes the live region, leaving the cursor at the end of
// its last line (no newline: nothing scrolls).
func (d *liveDisplay) writeRegion(b *strings.Builder, live []string) {
	b.WriteString(strings.Join(live, "\n"))
	d.live, d.lines = live, len(live)
}

// stageLine is one stage's line: its name, bar, counts and running
// figures, formatted as the report's table formats them.
func (d *liveDisplay) stageLine(id stageID, f stats.RunningFigures, since time.Duration, over bool) string {
	name := report.ModelName(id.model) + " · " + id.scenario
	if id.stage != "" {
		name += " · " + id.stage
	}
	measured := f.Requests
	var frac float64
	var count string
	switch {
	case d.plan.Requests > 0:
		frac = float64(measured) / float64(d.plan.Requests)
		count = fmt.Sprintf("%d/%d", measured, d.plan.Requests)
	case d.plan.Duration > 0:
		frac = since.Seconds() / d.plan.Duration.Seconds()
		count = fmt.Sprintf("%d req", measured)
	}
	if measured == 0 && f.Warmup > 0 && !over {
		count = "warm-up"
	}
	frac = min(max(frac, 0), 1)
	full := int(frac*liveBarWidth + 0.5)
	bar := "[" + strings.Repeat("█", full) + strings.Repeat("░", liveBarWidth-full) + "]"
	dist := func(x stats.Dist, v float64) string {
		if x.N == 0 {
			return "–"
		}
		return report.Num(v)
	}
	rate := "–"
	if f.OK > 0 {
		rate = report.Num(f.OutputTokensPerS)
	}
	return fmt.Sprintf("%s  %s %s  TTFT p50 %s p95 %s ms  decode %s tok/s  out %s tok/s  err %d (%.1f%%)",
		name, bar, count, dist(f.TTFT, f.TTFT.P50), dist(f.TTFT, f.TTFT.P95), dist(f.DecodeTPS, f.DecodeTPS.P50),
		rate, f.Errors, 100*f.ErrorRate)
}

// runLine is the run's line: requests, errors, time and what is left.
func runLine(p runner.Progress, stages int, final bool) string {
	total, eta := "?", "?"
	if p.Total > 0 {
		total = fmt.Sprint(p.Total)
	}
	if p.ETA > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	if final {
		return fmt.Sprintf("%d/%s requests  %d errors  %d stages  %s", p.Done, total, p.Errors, stages, p.Elapsed.Round(time.Second))
	}
	return fmt.Sprintf("%d/%s requests  %d errors  stage %d  %s elapsed  ETA %s", p.Done, total, p.Errors, stages, p.Elapsed.Round(time.Second), eta)
}

// fit cuts s to width−1 columns (one per rune), so that the terminal never
// wraps it; width 0 (unknown) leaves it.
func fit(s string, width int) string {
	if width <= 1 {
		return s
	}
	n := 0
	for i := range s {
		if n == width-1 {
			return s[:i]
		}
		n++
	}
	return s
}

// liveNotice prints the interrupt handler's notices: through the live
// display while one is drawn, else on standard error.
var liveNotice atomic.Pointer[liveDisplay]

// signalNotice prints one of SignalContext's notices.
func signalNotice(msg string) {
	if d := liveNotice.Load(); d != nil {
		d.println(msg)
		return
	}
	fmt.Fprintln(os.Stderr, "\n"+msg)
}
