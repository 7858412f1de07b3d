package cli

import (
	"fmt"
	"io"
	"time"

	"flperf/internal/runner"
)

// progressLine redraws one status line in place, at most every 100 ms.
type progressLine struct {
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
}

func newProgressLine(w io.Writer, on bool) *progressLine { return &progressLine{w: w, on: on} }

func (p *progressLine) update(pr runner.Progress) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond && pr.Done != pr.Total {
		return
	}
	p.last = time.Now()
	total, eta := "?", "?"
	if pr.Total > 0 {
		total = fmt.Sprint(pr.Total)
	}
	if pr.ETA > 0 {
		eta = pr.ETA.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\033[K%d/%s requests  %d errors  %s elapsed  ETA %s  %s / %s",
		pr.Done, total, pr.Errors, pr.Elapsed.Round(time.Second), eta, pr.Model, pr.Scenario)
	p.drawn = true
}

func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
