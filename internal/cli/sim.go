package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"flperf/internal/load"
	"flperf/internal/sim"
	"flperf/internal/suite"
)

// simProfile is the JSON form of a simulated model in a --profiles file:
// snake_case keys and Go duration strings ("120ms").
type simProfile struct {
	Name                string  `json:"name"`
	TTFT                string  `json:"ttft"`
	PrefillTPS          float64 `json:"prefill_tps"`
	DecodeTPS           float64 `json:"decode_tps"`
	Jitter              float64 `json:"jitter"`
	TokensPerChunk      int     `json:"tokens_per_chunk"`
	RoleChunk           bool    `json:"role_chunk"`
	Usage               *bool   `json:"usage"` // default true
	RejectStreamOptions bool    `json:"reject_stream_options"`
	ContinuousUsage     bool    `json:"continuous_usage"`
	Timings             bool    `json:"timings"`
	NoDone              bool    `json:"no_done"`
	Reasoning           int     `json:"reasoning"`
	OutputTokens        int     `json:"output_tokens"`
	Slots               int     `json:"slots"`
	PrefixCache         int     `json:"prefix_cache"` // prompt prefixes the model's prefix cache keeps (0: none)
	Seed                int64   `json:"seed"`
	TemplateTokens      *int    `json:"template_tokens"` // default sim.DefaultTemplateTokens
	Faults              struct {
		Status429 float64 `json:"status_429"`
		Status500 float64 `json:"status_500"`
		Status503 float64 `json:"status_503"`
		Stall     float64 `json:"stall"`
		StallFor  string  `json:"stall_for"`
		StallAt   int     `json:"stall_at"`
		Cut       float64 `json:"cut"`
		Malformed float64 `json:"malformed"`
	} `json:"faults"`
}

// loadSimProfiles reads a JSON array of simProfile; errors name the entry and field.
func loadSimProfiles(path string) ([]sim.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in []simProfile
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var out []sim.Profile
	var errs []error
	for i, p := range in {
		dur := func(field, s string) time.Duration {
			if s == "" {
				return 0
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: profile %d (%q): %s: %v", path, i, p.Name, field, err))
			}
			return d
		}
		sp := sim.Profile{
			Name: p.Name, TTFT: dur("ttft", p.TTFT), PrefillTPS: p.PrefillTPS, DecodeTPS: p.DecodeTPS, Jitter: p.Jitter,
			TokensPerChunk: p.TokensPerChunk, RoleChunk: p.RoleChunk, Usage: p.Usage == nil || *p.Usage,
			RejectStreamOptions: p.RejectStreamOptions, ContinuousUsage: p.ContinuousUsage, Timings: p.Timings, NoDone: p.NoDone,
			Reasoning: p.Reasoning, OutputTokens: p.OutputTokens, Slots: p.Slots, Seed: p.Seed,
			PrefixCache: p.PrefixCache, TemplateTokens: sim.DefaultTemplateTokens,
		}
		if p.TemplateTokens != nil {
			sp.TemplateTokens = *p.TemplateTokens
		}
		f := p.Faults
		sp.Faults = sim.Faults{Status429: f.Status429, Status500: f.Status500, Status503: f.Status503, Stall: f.Stall,
			StallFor: dur("faults.stall_for", f.StallFor), StallAt: f.StallAt, Cut: f.Cut, Malformed: f.Malformed}
		out = append(out, sp)
	}
	return out, errors.Join(errs...)
}

func simCmd(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	// --listen as on `flperf serve`; --addr, its first name, stays an alias.
	var addr, alias string
	fs.StringVar(&addr, "listen", "127.0.0.1:8090", "loopback `address` to listen on")
	fs.StringVar(&alias, "addr", "", "alias of --listen, its former name")
	profiles := fs.String("profiles", "", "JSON `file` with an array of simulated models (default: sim-fast and sim-slow)")
	errRate := fs.Float64("error-rate", 0, "fraction of requests answered with HTTP 500, added to every model")
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf sim [flags]\n\nServes flperf's SIMULATED OpenAI-compatible engine on a loopback address, for trying\nflperf out and for tests. Its figures describe a simulator, never a real model.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, nil)
	}
	if _, err := parseFlags(fs, env, args, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf sim: %v\n", err)
		return ExitUsage
	}
	addr, err := listenAlias(fs, addr, alias)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf sim: %v\n", err)
		return ExitUsage
	}
	ps := sim.DefaultProfiles()
	if *profiles != "" {
		if ps, err = loadSimProfiles(*profiles); err != nil {
			fmt.Fprintf(env.Stderr, "flperf sim: --profiles: %v\n", err)
			return ExitUsage
		}
	}
	if *errRate < 0 || *errRate > 1 {
		fmt.Fprintf(env.Stderr, "flperf sim: --error-rate: must be between 0 and 1, got %g\n", *errRate)
		return ExitUsage
	}
	for i := range ps {
		ps[i].Faults.Status500 += *errRate
	}
	srv, err := sim.New(ps...)
	if err != nil {
		if *profiles != "" {
			err = fmt.Errorf("--profiles: %s: %v", *profiles, err)
		}
		fmt.Fprintf(env.Stderr, "flperf sim: %v\n", err)
		return ExitUsage
	}
	ln, err := sim.Listen(addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf sim: %v\n", err)
		return ExitFailure
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	fmt.Fprintf(env.Stdout, "flperf SIMULATED engine (not a real model) serving %s\nOpenAI base URL: http://%s/v1\nBenchmark it with: flperf run --endpoint http://%s/v1\nPress Ctrl-C to stop.\n",
		strings.Join(names, ", "), ln.Addr(), ln.Addr())
	// Either interrupt stage stops the server.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-load.Stopped(ctx):
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Serve(sctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(env.Stderr, "flperf sim: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// suitesCmd lists the built-in suites and those saved next to the
// database (the app's suite editor saves them there), or shows one suite's
// scenarios.
func suitesCmd(env *Env, args []string) int {
	fs := flag.NewFlagSet("suites", flag.ContinueOnError)
	db := fs.String("db", "", "list the suites saved next to this SQLite database `file` (default: the user's data directory)")
	if _, err := parseFlagsAllowArgs(fs, env, args, dbEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, "Usage: flperf suites [--db FILE] [NAME]\n\nLists the built-in suites and the saved ones, or shows suite NAME's scenarios.\n")
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf suites: %v\n", err)
		return ExitUsage
	}
	lib := savedSuites(*db)
	if fs.NArg() == 0 {
		for _, n := range suite.BuiltinNames() {
			s, _ := suite.Builtin(n)
			fmt.Fprintf(env.Stdout, "%-12s %d scenarios  %s\n", n, len(s.Scenarios), s.Description)
		}
		names, err := lib.Names()
		if err != nil {
			fmt.Fprintf(env.Stderr, "flperf suites: saved suites in %s: %v\n", lib.Dir, err)
			return ExitFailure
		}
		for _, n := range names {
			s, err := lib.Load(n)
			if err != nil {
				fmt.Fprintf(env.Stdout, "%-12s (saved, invalid: run flperf suites %s)\n", n, n)
				continue
			}
			fmt.Fprintf(env.Stdout, "%-12s %d scenarios  (saved) %s\n", n, len(s.Scenarios), s.Description)
		}
		return ExitOK
	}
	s, err := lib.Resolve(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf suites: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "%s %s: %s\n\n", s.Name, s.Version, s.Description)
	for _, sc := range s.Scenarios {
		prompt := strings.Join(strings.Fields(sc.Prompt), " ")
		if r := []rune(prompt); len(r) > 70 {
			prompt = string(r[:70]) + "…"
		}
		fmt.Fprintf(env.Stdout, "  %-36s max_tokens %-4d %-6s %s\n", sc.Name, sc.MaxTokensOr(100), sc.ExpectedOutputLength, prompt)
	}
	return ExitOK
}

// listenAlias returns the address to listen on: --listen's, or --addr's
// when only that alias was given. Both given with different values is an
// error.
func listenAlias(fs *flag.FlagSet, listen, alias string) (string, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case !given["addr"]:
		return listen, nil
	case given["listen"] && listen != alias:
		return "", fmt.Errorf("--addr %q and --listen %q: --addr is an alias of --listen; give one", alias, listen)
	}
	return alias, nil
}
