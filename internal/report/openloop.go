package report

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"flperf/internal/runner"
)

// openLoop prints the open-loop stages that dropped arrivals (--on-full
// drop) or that the over-saturation detector stopped (docs/metrics.md §7):
// arrivals, drops, and what the detector saw. The reasons are among the
// warnings.
func openLoop(ew *errWriter, r *runner.Result) {
	if len(r.Suite.OpenLoop) == 0 {
		return
	}
	ew.printf("\nOpen loop (dropped: arrivals not sent because --max-in-flight requests were in flight; they are in no figure)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tSCENARIO\tLOAD\tRATE/S\tARRIVALS\tDROPPED\tSTOPPED")
	for _, o := range r.Suite.OpenLoop {
		stage := o.Stage
		if stage == "" {
			stage = "–"
		}
		dropped := "–"
		if o.OnFull == "drop" {
			dropped = strconv.Itoa(o.Dropped)
		}
		stopped := "–"
		if w := o.Oversaturated; w != nil {
			stopped = fmt.Sprintf("over-saturated after %.1fs: in flight %+.3g/s, TTFT %+.3g s/s", w.ElapsedS, w.InFlightSlope, w.TTFTSlope)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", ModelName(o.Model), o.Scenario, stage, strconv.FormatFloat(o.Rate, 'g', 4, 64), o.Arrivals, dropped, stopped)
	}
	tw.Flush() // errors are the errWriter's
}
