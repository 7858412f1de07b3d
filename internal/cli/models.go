package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"flperf/internal/bench"
	"flperf/internal/engine"
	"flperf/internal/record"
)

// modelsCmd lists and manages an engine's models:
//
//	flperf models [list]  [--set catalog|downloaded|loaded|all]
//	flperf models pull|load|unload|test MODEL
//	flperf models create MODEL --file FILE.gguf [--template T] [--system S] [--parameter K=V]…
func modelsCmd(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "engine base `URL`; empty: the engine detected on this machine")
	kind := fs.String("engine", "auto", "engine `kind` (auto, foundry, ollama, llamacpp, vllm, sglang, lmstudio, openai, sim)")
	apiKey := fs.String("api-key", "", "API `key` for the OpenAI routes")
	set := fs.String("set", "all", "list: which `models`: catalog, downloaded, loaded or all")
	format := fs.String("format", "table", "list: `format`, table or json")
	ttl := fs.Duration("ttl", time.Hour, "load: keep the model loaded this long when idle (negative: forever, where the engine supports it)")
	ep := fs.String("ep", "", "load (Foundry Local): execution `provider`, e.g. cuda, qnn, cpu")
	prompt := fs.String("prompt", bench.TestPrompt, "test: the `prompt` to send")
	file := fs.String("file", "", "create (Ollama): the GGUF weights `file` on this machine to make the model from")
	template := fs.String("template", "", "create (Ollama): the prompt `template`, as a Modelfile's TEMPLATE (default: the one in the GGUF)")
	system := fs.String("system", "", "create (Ollama): the default system `message`")
	params := modelParams{}
	fs.Var(params, "parameter", "create (Ollama): a Modelfile PARAMETER as `name=value`, e.g. num_thread=1 or stop=END; repeatable")
	envOK := map[string]bool{"endpoint": true, "engine": true, "api-key": true}
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf models [list|pull|create|load|unload|test] [MODEL] [flags]\n\n"+
			"Lists an engine's models (catalog, downloaded, loaded, with device, execution provider and size),\n"+
			"downloads one with a progress bar, makes one from a local GGUF file (create --file, Ollama),\n"+
			"loads or unloads one, or tests one with a short completion.\n"+
			"What an engine cannot do is said, never faked.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, envOK)
	}
	var pos []string
	rest := args
	for {
		if _, err := parseFlagsAllowArgs(fs, env, rest, envOK); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			fmt.Fprintf(env.Stderr, "flperf models: %v\n", err)
			return ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	action := "list"
	if len(pos) > 0 {
		action, pos = pos[0], pos[1:]
	}
	switch action {
	case "list", "pull", "create", "load", "unload", "test":
	default:
		fmt.Fprintf(env.Stderr, "flperf models: unknown action %q (list, pull, create, load, unload, test)\n", action)
		return ExitUsage
	}
	if (action == "list") != (len(pos) == 0) || len(pos) > 1 {
		fmt.Fprintf(env.Stderr, "flperf models %s: usage: flperf models %s%s [flags]\n", action, action, map[bool]string{true: "", false: " MODEL"}[action == "list"])
		return ExitUsage
	}
	if (action == "create") != (*file != "") {
		fmt.Fprintf(env.Stderr, "flperf models: --file: given with create, and only with create (flperf models create MODEL --file FILE.gguf)\n")
		return ExitUsage
	}
	if *kind != "auto" && !containsKind(*kind) {
		fmt.Fprintf(env.Stderr, "flperf models: --engine: unknown kind %q\n", *kind)
		return ExitUsage
	}
	if *endpoint != "" {
		if _, _, err := bench.SplitEndpoint(*endpoint); err != nil {
			fmt.Fprintf(env.Stderr, "flperf models: --endpoint: %v\n", err)
			return ExitUsage
		}
	}
	info, cleanup, err := bench.Find(ctx, bench.Choice{Endpoint: *endpoint, Kind: *kind, APIKey: *apiKey}, stderrLog(env))
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf models: %v\n", err)
		return ExitFailure
	}
	defer cleanup()
	mgr := engine.NewManager(info.Info, bench.ManageClient(info.Authorization()))
	switch action {
	case "list":
		return listModels(ctx, env, mgr, *set, *format)
	case "pull":
		return pullModel(ctx, env, mgr, pos[0])
	case "create":
		return createModel(ctx, env, mgr, pos[0], *file, engine.CreateOptions{Template: *template, System: *system, Parameters: params})
	case "load":
		took, err := mgr.Load(ctx, pos[0], engine.LoadOptions{TTL: *ttl, ExecutionProvider: *ep})
		if err != nil {
			return modelsFail(env, err)
		}
		fmt.Fprintf(env.Stdout, "loaded %s in %s\n", pos[0], took.Round(time.Millisecond))
	case "unload":
		if err := mgr.Unload(ctx, pos[0]); err != nil {
			return modelsFail(env, err)
		}
		fmt.Fprintf(env.Stdout, "unloaded %s\n", pos[0])
	case "test":
		return testModel(ctx, env, info.Info, info.Credentials, pos[0], *prompt)
	}
	return ExitOK
}

func containsKind(k string) bool {
	for _, x := range engine.Kinds {
		if string(x) == k {
			return true
		}
	}
	return false
}

func modelsFail(env *Env, err error) int {
	if errors.Is(err, engine.ErrUnsupported) {
		fmt.Fprintf(env.Stderr, "flperf models: %v (this engine does not offer it; see `flperf engines`)\n", err)
		return ExitFailure
	}
	fmt.Fprintf(env.Stderr, "flperf models: %v\n", err)
	return ExitFailure
}

func listModels(ctx context.Context, env *Env, mgr engine.Manager, set, format string) int {
	caps := mgr.Capabilities()
	var sets []engine.ModelSet
	switch set {
	case "all":
		for _, s := range []struct {
			set engine.ModelSet
			ok  bool
		}{{engine.CatalogSet, caps.Catalog}, {engine.DownloadedSet, caps.Downloaded}, {engine.LoadedSet, caps.Loaded}} {
			if s.ok {
				sets = append(sets, s.set)
			}
		}
	case "catalog", "downloaded", "loaded":
		sets = []engine.ModelSet{engine.ModelSet(set)}
	default:
		fmt.Fprintf(env.Stderr, "flperf models: --set: must be catalog, downloaded, loaded or all, got %q\n", set)
		return ExitUsage
	}
	if format != "table" && format != "json" {
		fmt.Fprintf(env.Stderr, "flperf models: --format: must be table or json, got %q\n", format)
		return ExitUsage
	}
	type listed struct {
		Set    engine.ModelSet `json:"set"`
		Models []engine.Model  `json:"models"`
	}
	var out []listed
	for _, s := range sets {
		ms, err := mgr.Models(ctx, s)
		if err != nil {
			return modelsFail(env, err)
		}
		if ms == nil {
			ms = []engine.Model{}
		}
		out = append(out, listed{s, ms})
	}
	if format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"engine": mgr.Info(), "capabilities": caps, "sets": out}); err != nil {
			return modelsFail(env, err)
		}
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "%s\n", mgr.Info().Label())
	for _, l := range out {
		fmt.Fprintf(env.Stdout, "\n%s (%d)\n", strings.ToUpper(string(l.Set)), len(l.Models))
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tALIAS\tDEVICE\tEP\tQUANT\tSIZE\tDOWNLOADED\tLOADED")
		for _, m := range l.Models {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(m.ID), dash(clean(m.Alias)), dash(m.Device), dash(m.ExecutionProvider),
				dash(m.Quantization), size(m.SizeBytes), yesNo(m.Downloaded), yesNo(m.Loaded))
		}
		tw.Flush()
	}
	return ExitOK
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "–"
	case *b:
		return "yes"
	}
	return "no"
}

func size(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// clean makes engine-supplied text safe for a terminal: control
// characters (escape sequences included) become U+FFFD.
func clean(s string) string { return cleanKeep(s, "") }

// cleanText is clean for model output, keeping its line breaks and tabs.
func cleanText(s string) string { return cleanKeep(s, "\n\t") }

func cleanKeep(s, keep string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !strings.ContainsRune(keep, r) {
			return '�'
		}
		return r
	}, s)
}

// pullModel downloads a model, drawing its progress.
func pullModel(ctx context.Context, env *Env, mgr engine.Manager, id string) int {
	draw, done := progressDrawer(env)
	err := mgr.Download(ctx, id, draw)
	done()
	if err != nil {
		return modelsFail(env, err)
	}
	fmt.Fprintf(env.Stdout, "downloaded %s\n", id)
	return ExitOK
}

// modelParams collects --parameter name=value as Ollama's create API
// takes them: integers, numbers and booleans typed, stop (repeatable) a
// list of strings, anything else a string.
type modelParams map[string]any

func (p modelParams) String() string { return "" }

func (p modelParams) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	if name == "stop" {
		list, _ := p[name].([]string)
		p[name] = append(list, val)
		return nil
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	if i, err := strconv.ParseInt(val, 10, 64); err == nil {
		p[name] = i
	} else if f, err := strconv.ParseFloat(val, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		p[name] = f
	} else if b, err := strconv.ParseBool(val); err == nil {
		p[name] = b
	} else {
		p[name] = val
	}
	return nil
}

// progressDrawer draws engine progress on stderr: one updated line on a
// terminal, else a line per 10 % (and the last report). done ends the
// terminal line.
func progressDrawer(env *Env) (draw func(engine.Progress), done func()) {
	term := isTerminal(env.Stderr)
	last := -1.0
	draw = func(p engine.Progress) {
		switch {
		case term:
			fmt.Fprintf(env.Stderr, "\r\033[K%s %s", bar(p.Percent), clean(p.Status))
		case p.Percent >= last+10 || p.Done:
			fmt.Fprintf(env.Stderr, "%s %s\n", bar(p.Percent), clean(p.Status))
			last = p.Percent
		}
	}
	return draw, func() {
		if term {
			fmt.Fprintln(env.Stderr)
		}
	}
}

// createModel makes a model from a local weights file, on an engine that
// can (Ollama).
func createModel(ctx context.Context, env *Env, mgr engine.Manager, name, file string, opts engine.CreateOptions) int {
	c, ok := mgr.(engine.FileCreator)
	if !ok {
		return modelsFail(env, fmt.Errorf("create: %s cannot make a model from a file (Ollama can): %w", mgr.Info().Kind, engine.ErrUnsupported))
	}
	draw, done := progressDrawer(env)
	err := c.CreateFromFile(ctx, name, file, opts, draw)
	done()
	if err != nil {
		return modelsFail(env, err)
	}
	fmt.Fprintf(env.Stdout, "created %s from %s\n", name, file)
	return ExitOK
}

func bar(pct float64) string {
	if pct < 0 {
		return "[" + strings.Repeat(" ", 30) + "]    ?%"
	}
	n := int(pct / 100 * 30)
	return fmt.Sprintf("[%s%s] %5.1f%%", strings.Repeat("#", n), strings.Repeat(" ", 30-n), pct)
}

// testModel sends one short non-streamed completion and shows the reply and
// its latency (the original's "Test" button).
func testModel(ctx context.Context, env *Env, info engine.Info, cred bench.Credentials, model, prompt string) int {
	rec := bench.TestModel(ctx, info, cred, model, prompt)
	if rec.Outcome != record.OK {
		fmt.Fprintf(env.Stderr, "flperf models test: %s: %s (HTTP %d) %s\n", model, rec.Outcome, rec.Status, clean(rec.Error))
		return ExitFailure
	}
	fmt.Fprintf(env.Stdout, "%s answered in %s (%d tokens, %s):\n%s\n", model, rec.End.Round(time.Millisecond), rec.OutputTokens, rec.OutputSource, cleanText(rec.Text))
	return ExitOK
}
