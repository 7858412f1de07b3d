package runner

import (
	"flperf/internal/load"
)

// openLoopStage records what the load generator's report says about an
// open-loop stage, when there is something to say.
func (r *Runner) openLoopStage(st *runState, win *stageWindow, p load.Plan, rep *load.Report) {
	if p.Mode != load.Rate || (p.OnFull != load.Drop && rep.Oversaturated == nil) {
		return
	}
	o := OpenLoop{Model: win.model, Scenario: win.scenario, Stage: win.stage, Rate: p.Rate, OnFull: p.OnFull,
		Arrivals: rep.Arrivals, Dropped: rep.Dropped, Requests: win.records, Oversaturated: rep.Oversaturated}
	if o.OnFull == "" {
		o.OnFull = load.Queue
	}
	st.res.Suite.OpenLoop = append(st.res.Suite.OpenLoop, o)
	r.log("warn", o.String())
}
