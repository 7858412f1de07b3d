package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"flperf/internal/engine"
)

// enginesCmd lists the engines running on this machine.
func enginesCmd(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("engines", flag.ContinueOnError)
	format := fs.String("format", "table", "`format`: table or json")
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf engines [flags]\n\nLooks for Foundry Local (through its CLI) and for engines on their usual ports\n(Ollama 11434, llama.cpp 8080, LM Studio 1234, vLLM 8000, SGLang 30000), and identifies each\nby its own endpoints.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, nil)
	}
	if _, err := parseFlags(fs, env, args, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf engines: %v\n", err)
		return ExitUsage
	}
	if *format != "table" && *format != "json" {
		fmt.Fprintf(env.Stderr, "flperf engines: --format: must be table or json, got %q\n", *format)
		return ExitUsage
	}
	var p engine.Prober
	found := p.DetectAll(ctx)
	if *format == "json" {
		if found == nil {
			found = []engine.Found{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(found); err != nil {
			fmt.Fprintf(env.Stderr, "flperf engines: %v\n", err)
			return ExitFailure
		}
		return ExitOK
	}
	if len(found) == 0 {
		fmt.Fprintln(env.Stdout, "No engine found. `flperf run` will benchmark the built-in SIMULATED engine;\nstart Foundry Local, Ollama, llama.cpp or LM Studio, or pass --endpoint.")
		return ExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tVERSION\tENDPOINT\tFOUND BY\tHEALTHY\tNOTE")
	for _, f := range found {
		v := f.Version
		if v == "" {
			v = "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", f.Kind, v, f.Endpoint, f.DetectedBy, f.Healthy, f.Note)
	}
	tw.Flush()
	return ExitOK
}
