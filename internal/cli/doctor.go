package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"flperf/internal/doctor"
)

// doctorOptions are what doctorCmd gathers with; tests replace it.
var doctorOptions = func(db string) doctor.Options { return doctor.Options{DBPath: db} }

// doctorCmd: flperf doctor [--format text|json] [--db FILE]. Problems
// found are the report's content: the exit status is 0 unless the report
// could not be written.
func doctorCmd(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	format := fs.String("format", "text", "`format`: text or json")
	db := dbFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf doctor [flags]\n\nGathers what a bug report needs: flperf's build, the OS, processor and SoC, memory,\nGPUs and NPUs, the engines found and their health, the Foundry Local CLI and service,\nthe database's integrity, and what to do next. It names no host, user or home directory.\nProblems found are reported, not failed on: the exit status is 0.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, dbEnv)
	}
	if _, err := parseFlags(fs, env, args, dbEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf doctor: %v\n", err)
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.Stderr, "flperf doctor: --format: must be text or json, got %q\n", *format)
		return ExitUsage
	}
	r := doctor.Gather(ctx, doctorOptions(*db))
	var err error
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else {
		err = r.WriteText(env.Stdout)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf doctor: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
