package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

var failureOrder = []record.Outcome{record.Timeout, record.HTTPError, record.StreamError, record.ConnectError}

// Table writes the human report: a header naming the engine and the load,
// one row per model × scenario, pooled rows per model, the best model per
// headline metric with the scenario it came from, and numbered warnings.
func Table(w io.Writer, r *runner.Result) error { return TableFrom(w, r, "") }

// TableFrom is Table with an "Origin" line in the header saying where a
// pushed or pulled run came from (store.PushOrigin.Describe), when origin
// is not empty.
func TableFrom(w io.Writer, r *runner.Result, origin string) error {
	ew := &errWriter{w: w}
	c := &r.Config
	ew.printf("FLPerformance run %s  %s  %s  (%s)\n", r.ID, r.Status, r.Started.Local().Format("2006-01-02 15:04:05"), r.Ended.Sub(r.Started).Round(100*time.Millisecond))
	if r.Legacy != nil {
		legacyHeader(ew, r)
	}
	ew.printf("Engine   %s\n", engineLine(r))
	if r.Engine.ConnectionReuse != "" {
		ew.printf("         %s\n", r.Engine.ConnectionReuse)
	}
	ew.printf("Suite    %s (%d scenarios)\n", r.Suite.Name, len(r.Suite.Scenarios))
	ew.printf("Load     %s\n", loadLabel(c))
	ew.printf("Request  %s\n", requestLabel(c))
	if h := hardwareLine(r.Hardware); h != "" {
		ew.printf("Machine  %s\n", h)
	}
	if origin != "" {
		ew.printf("Origin   %s\n", origin)
	}
	ew.printf("\n")

	notes := &footnotes{}
	if r.Legacy != nil && len(r.Groups) == 0 {
		legacyBlock(ew, r) // no records: only the original's figures
	} else {
		ew.printf("Per model × scenario (latencies in ms over ok requests; rates in tokens/s)\n")
		groupTable(ew, r.Groups, notes, true)
	}
	if len(r.Models) > 0 {
		ew.printf("\nPer model (all scenarios pooled, not averaged)\n")
		groupTable(ew, r.Models, notes, false)
	}
	languagesBlock(ew, r)
	turnsBlock(ew, r)
	prefixBlock(ew, r)
	contextSweepBlock(ew, r)
	inputLengthBlock(ew, r)
	failureClasses(ew, r)
	if r.Legacy == nil || len(r.Groups) > 0 {
		best(ew, r)
	}
	knees(ew, r)
	contextFit(ew, r)
	openLoop(ew, r)
	coldStarts(ew, r)
	serverFigures(ew, r)
	engineFigures(ew, r)
	resourcesBlock(ew, r)
	engineSeriesBlock(ew, r)
	if len(r.Warnings) > 0 || len(notes.list) > 0 {
		ew.printf("\nWarnings\n")
		for _, s := range r.Warnings {
			ew.printf("  ! %s\n", s)
		}
		for i, s := range notes.list {
			ew.printf("  [%d] %s\n", i+1, s)
		}
	}
	return ew.err
}

func loadLabel(c *runner.Config) string {
	s := c.Plan().String()
	if levels := c.Sweep(); levels != nil {
		labels := make([]string, len(levels))
		for i, l := range levels {
			labels[i] = l.Label()
		}
		s = fmt.Sprintf("%s sweep, each level a stage: %s", c.Mode, strings.Join(labels, " "))
		if extra := strings.TrimPrefix(c.Plan().String(), levels[0].Apply(load.Plan{}).String()); extra != "" {
			s += " (" + strings.TrimSpace(extra) + ")" // the arrival process and the cap of a rate sweep
		}
	}
	switch {
	case c.Requests > 0 && c.Duration > 0:
		s += fmt.Sprintf(", %d requests or %s per scenario", c.Requests, time.Duration(c.Duration))
	case c.Requests > 0:
		s += fmt.Sprintf(", %d requests per scenario", c.Requests)
	default:
		s += fmt.Sprintf(", %s per scenario", time.Duration(c.Duration))
	}
	s += fmt.Sprintf(", %d warm-up per model", c.Warmup)
	return s + fmt.Sprintf(", seed %d", c.Seed)
}

func requestLabel(c *runner.Config) string {
	var p []string
	if c.Stream {
		p = append(p, "streaming")
	} else {
		p = append(p, "non-streaming (no TTFT/TPOT)")
	}
	if c.MaxTokens > 0 {
		p = append(p, fmt.Sprintf("max_tokens %d", c.MaxTokens))
	} else {
		p = append(p, "max_tokens per scenario")
	}
	if c.Temperature != nil {
		p = append(p, fmt.Sprintf("temperature %g", *c.Temperature))
	} else {
		p = append(p, "temperature per scenario/server default")
	}
	p = append(p, "timeout "+time.Duration(c.Timeout).String())
	if c.SLOSpec != "" {
		p = append(p, "SLO "+c.SLOSpec)
	}
	if c.Retries > 0 {
		p = append(p, fmt.Sprintf("retries %d (transient failures)", c.Retries))
	}
	if c.CacheBust {
		p = append(p, "prompt-cache nonce on")
	}
	if c.PrefixTokens > 0 {
		mode := c.PrefixCache
		if mode == "" {
			mode = runner.PrefixCold
		}
		p = append(p, fmt.Sprintf("shared prefix of %d tokens (prefix cache %s)", c.PrefixTokens, mode))
	}
	switch c.OutputForcedBy {
	case "":
	case engine.ForceUnsupported:
		p = append(p, "fixed output length asked but unsupported by the engine")
	default:
		p = append(p, "output length fixed by "+c.OutputForcedBy)
	}
	return strings.Join(p, ", ")
}

// footnotes numbers warnings so table cells can point at them.
type footnotes struct{ list []string }

func (f *footnotes) add(s string) int {
	for i, x := range f.list {
		if x == s {
			return i + 1
		}
	}
	f.list = append(f.list, s)
	return len(f.list)
}

func groupTable(ew *errWriter, groups []stats.Group, notes *footnotes, withScenario bool) {
	// Numbers align right; names are padded here so that they read left-aligned.
	mw, sw, lw := len("MODEL"), len("SCENARIO"), 0
	for i := range groups {
		mw = max(mw, utf8.RuneCountInString(ModelName(groups[i].Model)))
		sw = max(sw, utf8.RuneCountInString(groups[i].Scenario))
		if st := groups[i].Stage; st != "" {
			lw = max(lw, len("LOAD"), utf8.RuneCountInString(st))
		}
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := fmt.Sprintf("%-*s\t", mw, "MODEL")
	if withScenario {
		head += fmt.Sprintf("%-*s\t", sw, "SCENARIO")
	}
	if lw > 0 { // a sweep: one row per load level (its stage label)
		head += fmt.Sprintf("%-*s\t", lw, "LOAD")
	}
	head += "OK/N\tERR\tTTFT p50\tp95\tp99\tTPOT p50\tITL p99\tDECODE\tE2E p50\tp95\tREQ/s\tOUT tok/s\tTOKENS\tNOTES\t"
	fmt.Fprintln(tw, head)
	for i := range groups {
		g := &groups[i]
		row := fmt.Sprintf("%-*s\t", mw, ModelName(g.Model))
		if withScenario {
			row += fmt.Sprintf("%-*s\t", sw, g.Scenario)
		}
		if lw > 0 {
			row += fmt.Sprintf("%-*s\t", lw, g.Stage)
		}
		var refs []string
		for _, wrn := range g.Warnings {
			refs = append(refs, fmt.Sprintf("[%d]", notes.add(wrn)))
		}
		row += fmt.Sprintf("%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t",
			g.OK, g.Requests-g.Canceled, errCell(g),
			dnum(g.TTFT, g.TTFT.P50), dnum(g.TTFT, g.TTFT.P95), dnum(g.TTFT, g.TTFT.P99),
			dnum(g.TPOT, g.TPOT.P50), dnum(g.ITL, g.ITL.P99), dnum(g.DecodeTPS, g.DecodeTPS.P50),
			dnum(g.E2E, g.E2E.P50), dnum(g.E2E, g.E2E.P95),
			rate(g, g.RequestsPerS), rate(g, g.OutputTokensPerS), g.TokenSource, strings.Join(refs, ""))
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
}

func rate(g *stats.Group, v float64) string {
	if g.OK == 0 {
		return "–"
	}
	return num(v)
}

func groupLabel(g *stats.Group) string {
	s := ModelName(g.Model)
	if g.Scenario != "" {
		s += " / " + g.Scenario
	}
	if g.Stage != "" {
		s += " @ " + g.Stage
	}
	return s
}

// MaxRankedErrorRate is the highest error rate a group may have and still be
// ranked "best" at anything: a model that fails must never look fast.
const MaxRankedErrorRate = 0.05

// best prints, for each headline metric, which model wins in how many
// scenarios under the run's load. Groups without samples for the metric, or
// with more than MaxRankedErrorRate failures, are never ranked (the same
// rule as the app's cards, Best).
func best(ew *errWriter, r *runner.Result) {
	if len(r.Config.Models) < 2 {
		return
	}
	what, under := "scenarios", r.Config.Plan().String()
	if r.Config.Sweep() != nil {
		what, under = "scenario × load levels", "each level apart"
	}
	ew.printf("\nBest model per scenario (load %s; groups with > %.0f%% errors are never ranked)\n", under, 100*MaxRankedErrorRate)
	for _, key := range []string{"ttft", "decode", "e2e", "throughput"} {
		p := headlineByKey(key)
		wins, n := bestWins(r, p)
		var parts []string
		for _, m := range r.Config.Models {
			if wins[m] > 0 {
				parts = append(parts, fmt.Sprintf("%s in %d of %d %s", ModelName(m), wins[m], n, what))
			}
		}
		if len(parts) == 0 {
			parts = []string{"no model has figures"}
		}
		ew.printf("  %-27s %s\n", p.name+":", strings.Join(parts, "; "))
	}
}

// bestWins counts, per model, the groups (a scenario, at each load level
// in a sweep) where it is best by p among the rankable ones, and how many
// groups had any rankable figure: the "best model per scenario" rule of the
// table and the Markdown report alike.
func bestWins(r *runner.Result, p *headline) (wins map[string]int, groups int) {
	byScenario := map[string]*stats.Group{}
	var order []string
	for i := range r.Groups {
		g := &r.Groups[i]
		v, ok := p.rankable(g)
		if !ok {
			continue
		}
		key := g.Scenario + "\x00" + g.Stage // in a sweep, each scenario at each load level
		cur, seen := byScenario[key]
		if !seen {
			order = append(order, key)
		}
		if cv, _ := p.get(orDefault(cur)); !seen || (p.low && v < cv) || (!p.low && v > cv) {
			byScenario[key] = g
		}
	}
	wins = map[string]int{}
	for _, s := range order {
		wins[byScenario[s].Model]++
	}
	return wins, len(order)
}

func orDefault(g *stats.Group) *stats.Group {
	if g == nil {
		return &stats.Group{}
	}
	return g
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

// coldStarts prints each model's cold start (flperf run --cold), apart from
// every warm figure.
func coldStarts(ew *errWriter, r *runner.Result) {
	first := true
	for _, m := range r.Engine.Models {
		if m.Cold == nil {
			continue
		}
		if first {
			ew.printf("\nCold start (model unloaded, then loaded; not part of any figure above)\n")
			first = false
		}
		ttft := "–"
		if m.Cold.TTFTMS != nil {
			ttft = num(*m.Cold.TTFTMS) + " ms"
		}
		ew.printf("  %-24s load %s ms, first request TTFT %s (%s)\n", ModelName(m.ID), num(m.Cold.LoadMS), ttft, m.Cold.Outcome)
	}
}

// serverFigures prints what the engine's own /metrics say about each stage,
// beside the client's mean TTFT: the two are measured differently (the
// engine from the request's arrival, flperf from its send).
func serverFigures(ew *errWriter, r *runner.Result) {
	if len(r.Server) == 0 {
		return
	}
	ew.printf("\nServer-side figures (the engine's own /metrics, per stage; warm-ups included)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tREQUESTS\tOUT TOKENS\tTTFT mean (engine)\tTTFT mean (client)\tTPOT mean\tE2E mean\tQUEUE mean\tKV peak\t")
	for _, st := range r.Server {
		s := st.Stats
		client := "–"
		for i := range r.Groups {
			if g := &r.Groups[i]; g.Model == st.Model && g.Scenario == st.Scenario && g.TTFT.N > 0 {
				client = num(g.TTFT.Mean)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ModelName(st.Model), st.Scenario, opt(s.RequestsFinished, 1), opt(s.GenerationTokens, 1),
			opt(s.MeanTTFT, 1000), client, opt(s.MeanTPOT, 1000), opt(s.MeanE2E, 1000), opt(s.MeanQueue, 1000), optPct(s.KVCacheUsage.Peak))
	}
	tw.Flush()
	ew.printf("  (times in ms)\n")
}

// engineFigures prints the engine's own per-response figures beside the
// client's, for the groups whose responses carried them.
func engineFigures(ew *errWriter, r *runner.Result) {
	var gs []*stats.Group
	for i := range r.Groups {
		if r.Groups[i].Engine != nil {
			gs = append(gs, &r.Groups[i])
		}
	}
	if len(gs) == 0 {
		return
	}
	ew.printf("\nEngine's own per-response figures beside the client's (medians over ok requests that carried them)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tN\tTTFT engine\tTTFT client\tOVERHEAD\tDECODE engine\tDECODE client\t")
	for _, g := range gs {
		e := g.Engine
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", ModelName(g.Model), g.Scenario, e.N,
			distP50(e.TTFT), distP50(g.TTFT), distP50(e.Overhead), distP50(e.DecodeTPS), distP50(g.DecodeTPS))
	}
	tw.Flush()
	ew.printf("  (times in ms, decode in tokens/s; overhead = client TTFT − engine TTFT per request: network, queueing, the client)\n")
}

// distP50 formats a distribution's median; "–" without samples.
func distP50(d stats.Dist) string {
	if d.N == 0 {
		return "–"
	}
	return num(d.P50)
}

// opt formats an optional figure times scale; "–" when unknown.
func opt(v *float64, scale float64) string {
	if v == nil {
		return "–"
	}
	return num(*v * scale)
}

func optPct(v *float64) string {
	if v == nil {
		return "–"
	}
	return pct(*v)
}
