// Package cli is the flperf command line: it parses flags (with FLPERF_*
// environment overrides), wires the packages together and maps outcomes to
// exit codes. It is the only package that touches the process (os, signals,
// the terminal); everything else is testable through Main.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"flperf/internal/load"
	"flperf/internal/runner"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the command could not do its job (engine unreachable, file unwritable, …)
	ExitUsage       = 2   // bad flags or input files
	ExitInterrupted = 130 // the user interrupted a run; partial results were still reported
)

// Main runs the flperf command with args (without the program name) and
// returns the exit code. ctx carries the two-stage interrupt of
// SignalContext: its stop signal ends scheduling, its cancellation cancels
// requests in flight.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return dispatch(ctx, &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}, args)
}

// dispatch is Main with the process environment in env, so that tests can
// give each command their own FLPERF_* variables.
func dispatch(ctx context.Context, env *Env, args []string) int {
	stdout, stderr := env.Stdout, env.Stderr
	// No command, or only flags (flperf --listen ADDR): the app.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "-help", "--help", "--version"}, args[0]) {
		return serveCmd(ctx, env, args)
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, env, args[1:])
	case "run":
		return runCmd(ctx, env, args[1:])
	case "capacity":
		return capacityCmd(ctx, env, args[1:])
	case "sim":
		return simCmd(ctx, env, args[1:])
	case "runs":
		return runsCmd(ctx, env, args[1:])
	case "show":
		return showCmd(ctx, env, args[1:])
	case "delete":
		return deleteCmd(ctx, env, args[1:])
	case "prune":
		return pruneCmd(ctx, env, args[1:])
	case "db":
		return dbCmd(ctx, env, args[1:])
	case "export":
		return exportCmd(ctx, env, args[1:])
	case "import":
		return importCmd(ctx, env, args[1:])
	case "push":
		return pushCmd(ctx, env, args[1:])
	case "pull":
		return pullCmd(ctx, env, args[1:])
	case "compare":
		return compareCmd(ctx, env, args[1:])
	case "report":
		return reportCmd(ctx, env, args[1:])
	case "models":
		return modelsCmd(ctx, env, args[1:])
	case "engines":
		return enginesCmd(ctx, env, args[1:])
	case "suites":
		return suitesCmd(env, args[1:])
	case "doctor":
		return doctorCmd(ctx, env, args[1:])
	case "users":
		return usersCmd(ctx, env, args[1:])
	case "version", "--version":
		t := runner.CurrentTool()
		fmt.Fprintf(stdout, "flperf %s (%s %s/%s)\n", t.Version, t.Go, t.OS, t.Arch)
		return ExitOK
	case "help", "-h", "--help":
		usage(stdout)
		return ExitOK
	}
	fmt.Fprintf(stderr, "flperf: unknown command %q\n\n", args[0])
	usage(stderr)
	return ExitUsage
}

// Env is what a command may touch of the process. Tests build their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

func usage(w io.Writer) {
	fmt.Fprint(w, `flperf benchmarks LLMs served on this machine (Foundry Local, Ollama, llama.cpp,
vLLM, SGLang, LM Studio, any OpenAI-compatible endpoint) and reports numbers you can trust.

Usage:
  flperf                 start the app: web UI and API on http://127.0.0.1:8765/ (same as flperf serve)
  flperf serve [flags]   the app, with --listen ADDR, --db FILE, --token T, --tls-cert/--tls-key, --open (flperf serve -h)
  flperf run [flags]     benchmark one or more models (flperf run -h lists the flags); saves the run
  flperf capacity --slo ttft_p99=2s,tpot_p99=100ms [flags]
                         the highest load one model sustains within the objectives (flperf capacity -h)
  flperf runs            list stored runs            flperf show RUN      a stored run's report
  flperf compare A B     compare two runs, or RUN@MODEL against RUN@MODEL (benchstat style)
  flperf report RUN [RUN] --html FILE   one self-contained HTML file of a run (two: with their comparison)
  flperf export RUN      json (lossless), csv, jsonl or benchstat; flperf import FILE takes json back
  flperf push RUN... --to URL   send runs to a team server (flperf serve); flperf pull URL RUN brings one back
  flperf delete RUN...   flperf prune --older-than 30d | --keep N    flperf db backup FILE | db path
  flperf sim [flags]     serve the built-in SIMULATED engine on 127.0.0.1 (for trying flperf out)
  flperf engines         list the engines running on this machine, identified by their own endpoints
  flperf models [list|pull|load|unload|test MODEL]   an engine's models: catalog, downloaded, loaded
  flperf suites [NAME]   list the built-in and saved suites, or show one suite's scenarios
  flperf doctor          what a bug report needs: build, machine, engines, Foundry Local, database
  flperf users add NAME --role viewer|runner|admin | list | revoke NAME
                         named users of a shared server (prints a new user's token once)
  flperf version         print the version

With no --endpoint, 'flperf run' looks for Foundry Local (through its CLI), Ollama (11434),
llama.cpp (8080), LM Studio (1234), vLLM (8000) and SGLang (30000), and benchmarks the
built-in simulated engine if none answers, saying so in every output.
`)
}

// SignalContext returns a context for Main wired to SIGINT and SIGTERM in
// two stages: the first signal stops scheduling new requests (in-flight ones
// finish), the second cancels the requests in flight. Call stop to release
// the signal handler.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ctx, stopScheduling := load.WithStop(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					signalNotice("flperf: stopping: no new requests; waiting for requests in flight (press Ctrl-C again to cancel them)")
					stopScheduling()
					continue
				}
				signalNotice("flperf: cancelling requests in flight")
				cancel()
				return
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
