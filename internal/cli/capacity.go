package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"flperf/internal/bench"
	"flperf/internal/capacity"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/store"
)

// capacityFlags are `flperf run`'s flags (--slo taking objectives on
// percentiles) and the search's own.
type capacityFlags struct {
	run      runFlags
	by       string
	maxTime  time.Duration
	maxLevel float64
}

func capacityCmd(ctx context.Context, env *Env, args []string) int {
	var f capacityFlags
	fs := newRunFlagSet(&f.run)
	fs.Init("capacity", flag.ContinueOnError)
	fs.Lookup("slo").Usage = "the objectives every level must meet, on percentiles: ttft_p99=2s,tpot_p99=100ms (metrics ttft, tpot, e2e; percentiles 50 to 99.9)"
	fs.Lookup("requests").Usage = "measured requests per level (default and minimum: what the objectives' percentiles need, 441 for a p99)"
	fs.Lookup("concurrency").Usage = "the first level of a search by concurrency (default 1)"
	fs.Lookup("rate").Usage = "the first level of a search by rate, in requests per second (default 1)"
	fs.Lookup("format").Usage = "output `format`: table or json"
	fs.StringVar(&f.by, "by", "concurrency", "what the search varies: concurrency (streams in flight) or rate (arrivals per second)")
	fs.DurationVar(&f.maxTime, "max-time", bench.DefaultCapacityTime, "the whole search's time budget: a level starts only when it fits, and no request outlives the budget")
	fs.Float64Var(&f.maxLevel, "max-level", 0, "the highest level tried (default 1024 streams, or the load generator's highest rate)")
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, `Usage: flperf capacity --slo ttft_p99=2s,tpot_p99=100ms [flags]

Finds the highest load one model sustains on one scenario while every objective holds with 95 %
confidence (docs/metrics.md §10): the level doubles until one fails, then bisects. Each level is a
stage of one saved run (flperf show, export and compare work on it).

Flags:
`)
		printDefaults(env.Stdout, fs, runEnv)
	}
	src, err := parseFlags(fs, env, args, runEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", err)
		return ExitUsage
	}
	cr, err := buildCapacity(&f, src)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", err)
		return ExitUsage
	}
	var db *store.DB
	if !f.run.noSave {
		if db, err = openDB(ctx, f.run.db); err != nil {
			fmt.Fprintf(env.Stderr, "flperf capacity: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		defer db.Close()
	}
	out, err := openOutput(env, f.run.out)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", err)
		return ExitFailure
	}
	logf := stderrLog(env)
	eng, cleanup, err := bench.Choose(ctx, bench.Choice{Endpoint: f.run.endpoint, Kind: f.run.engineKind, APIKey: f.run.apiKey}, logf)
	if err != nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", err)
		return ExitFailure
	}
	defer cleanup()
	r, err := bench.Prepare(ctx, cr.Resolved, eng, logf)
	if err == nil && len(r.Config.Models) != 1 {
		err = bench.Problems{{Field: "models", Problem: fmt.Sprintf("--model: a capacity search measures one model; the engine has %s: pick one", strings.Join(r.Config.Models, ", "))}}
	}
	if err != nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", err)
		var p bench.Problems
		if errors.As(err, &p) {
			return ExitUsage
		}
		return ExitFailure
	}
	r.Config.Command = capacityCommand(r.Config.Command, &f, src)
	r.ID = runner.NewID(time.Now())
	sctx := context.WithoutCancel(ctx)
	if db != nil {
		begin := &runner.Result{ID: r.ID, Tool: runner.CurrentTool(), Status: "running", Started: time.Now(),
			Engine: r.Engine, Config: r.Config, Suite: runner.NewSuiteInfo(r.Suite, r.Scenarios)}
		if err := db.BeginRun(sctx, begin); err != nil {
			out.abort()
			fmt.Fprintf(env.Stderr, "flperf capacity: saving the run: %v (or pass --no-save)\n", err)
			return ExitFailure
		}
		r.Sinks = append(r.Sinks, db.NewRecordWriter(r.ID, store.WriterOptions{}))
	}
	r.Log = func(level, msg string) {
		if level == "warn" || level == "error" || strings.HasPrefix(msg, "model ") {
			fmt.Fprintf(env.Stderr, "flperf: %s\n", msg)
		}
		if db != nil {
			_ = db.Event(sctx, r.ID, level, msg)
		}
	}
	p := cr.Params
	fmt.Fprintf(env.Stderr, "flperf: capacity of %s on %s, scenario %q, by %s within %s: %d requests a level (seed %d)\n",
		r.Config.Models[0], r.Engine.Label(), r.Scenarios[0].Name, p.By, p.SLO, p.Requests, r.Config.Seed)
	prog := newProgressLine(env.Stderr, !f.run.noProgress && isTerminal(env.Stdout) && isTerminal(env.Stderr))
	r.Progress = prog.update
	res, runErr := bench.RunCapacity(ctx, cr, r)
	prog.clear()
	if res == nil {
		out.abort()
		fmt.Fprintf(env.Stderr, "flperf capacity: %v\n", runErr)
		return ExitFailure
	}
	var serr error
	if db != nil {
		if serr = db.FinishRun(sctx, res); serr == nil {
			fmt.Fprintf(env.Stderr, "flperf: run %s saved in %s, %s (flperf show %s)\n", res.ID, db.Path(), res.Status, res.ID)
		} else {
			res.Status = runner.Interrupted
			serr = fmt.Errorf("saving the run: %w (the database holds it as interrupted)", serr)
		}
	}
	var werr error
	switch f.run.format {
	case "json":
		werr = capacityJSON(out, res)
	default:
		werr = capacityTable(out, res)
	}
	if err := errors.Join(runErr, serr, werr, out.commit()); err != nil {
		fmt.Fprintf(env.Stderr, "flperf capacity: writing results: %v\n", err)
		return ExitFailure
	}
	if res.Status != runner.Completed {
		return ExitInterrupted
	}
	return ExitOK
}

// buildCapacity turns the flags into a capacity search and reports every
// problem at once.
func buildCapacity(f *capacityFlags, src flagSources) (*bench.CapacityRun, error) {
	s, errs := buildSpec(&f.run, src)
	if f.run.format != "table" && f.run.format != "json" {
		errs = append(errs, fmt.Errorf("--format: must be table or json, got %q", f.run.format))
	}
	s.SLO = "" // --slo is the search's objectives, not goodput's thresholds
	cs := bench.CapacitySpec{SLO: f.run.slo, By: f.by}
	if src.given("max-time") {
		cs.MaxTime = f.maxTime.String()
	}
	if src.given("max-level") {
		cs.MaxLevel = &f.maxLevel
	}
	cr, err := bench.ResolveCapacity(&s, cs, bench.Check{Name: flagName, Suite: savedSuites(f.run.db).Resolve})
	if err := errors.Join(append([]error{err}, errs...)...); err != nil {
		return nil, err
	}
	return cr, nil
}

// capacityCommand is the command line that repeats the search: the run's,
// with the search's command and flags.
func capacityCommand(cmd []string, f *capacityFlags, src flagSources) []string {
	out := []string{"flperf", "capacity"}
	for i := 2; i < len(cmd); i++ {
		if cmd[i] == "--slo" && i+1 < len(cmd) {
			i++ // goodput's, never set by a search
			continue
		}
		out = append(out, cmd[i])
	}
	out = append(out, "--slo", f.run.slo, "--by", f.by)
	if src.given("max-time") {
		out = append(out, "--max-time", f.maxTime.String())
	}
	if src.given("max-level") {
		out = append(out, "--max-level", strconv.FormatFloat(f.maxLevel, 'g', -1, 64))
	}
	return out
}

// capacityTable writes the one-line answer and the levels tried.
func capacityTable(w io.Writer, res *runner.Result) error {
	c := res.Config.Capacity
	if _, err := fmt.Fprintf(w, "%s / %s: %s\n\n", c.Model, c.Scenario, c.Answer); err != nil {
		return err
	}
	if err := capacity.Table(w, c); err != nil {
		return err
	}
	for _, ws := range res.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", ws); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "run %s (%s); every level's full figures: flperf show %s\n", res.ID, res.Status, res.ID)
	return err
}

// capacityJSON writes {"capacity": the search, "run": the run's document}.
func capacityJSON(w io.Writer, res *runner.Result) error {
	var run bytes.Buffer
	if err := report.JSON(&run, res); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "Q&A" stays readable: the output is never HTML
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Capacity *capacity.Result `json:"capacity"`
		Run      json.RawMessage  `json:"run"`
	}{res.Config.Capacity, json.RawMessage(run.Bytes())})
}
