package dialect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The foundry CLI 0.10+ (docs/engines.md §1.3) is how users and flperf learn
// what the 1.x web service has no route for: aliases, download state, the
// service's address. WriteCLI writes a fake `foundry` executable that
// answers as that CLI does about this simulated service, so that tests can
// put it on PATH.

// FoundryCLIOptions configure the fake CLI.
type FoundryCLIOptions struct {
	// NoJSON imitates a CLI without `--output json`: the option is refused
	// ("Unrecognized command or argument"), and only the text forms answer.
	NoJSON bool
	// ModelsKey is the key holding the rows of `model list --variants
	// --output json`: "variants" (CLI 0.11, the default) or "models"; "-"
	// prints a bare array.
	ModelsKey string
	// Version, when set, is what `foundry --version` prints (the CLI
	// prints its version, e.g. "0.10.1+abc123", on one line); unset, the
	// option is refused like any other unknown argument.
	Version string
}

// FoundryCLIRow is one model row of the CLI's JSON listings (`model list
// --output json`, `cache list --output json`), with the CLI's field names.
type FoundryCLIRow struct {
	Alias               string `json:"alias"`
	ID                  string `json:"id"`
	DisplayName         string `json:"displayName"`
	Type                string `json:"type"`
	Device              string `json:"device"` // "Cpu", "Gpu", "Npu"
	FileSizeMB          int64  `json:"fileSizeMb"`
	Cached              bool   `json:"cached"`
	License             string `json:"license,omitempty"`
	SupportsToolCalling bool   `json:"supportsToolCalling"`
}

// CLIRows returns the CLI's model rows for the catalog, in catalog order,
// each with its download state now.
func (f *Foundry) CLIRows() []FoundryCLIRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows := make([]FoundryCLIRow, 0, len(f.entries))
	for _, e := range f.entries {
		dev := ""
		if e.Runtime != nil && e.Runtime.DeviceType != "" {
			d := strings.ToLower(e.Runtime.DeviceType)
			dev = strings.ToUpper(d[:1]) + d[1:]
		}
		typ := "Chat"
		if e.Task != "" && e.Task != "chat-completion" {
			typ = e.Task
		}
		rows = append(rows, FoundryCLIRow{Alias: e.Alias, ID: e.Name, DisplayName: e.DisplayName, Type: typ,
			Device: dev, FileSizeMB: e.FileSizeMB, Cached: f.cached[e.Name], License: e.License,
			SupportsToolCalling: e.SupportsToolCalling})
	}
	return rows
}

// cliOutputs are the fake CLI's answers: its argument lines (as "$*"
// joins them) and what each prints.
func (f *Foundry) cliOutputs(base string, o FoundryCLIOptions) map[string]string {
	rows := f.CLIRows()
	var cached []FoundryCLIRow
	var table strings.Builder
	table.WriteString("│ Model Name │ Variant │ Device │ Cached │\n")
	for _, r := range rows {
		mark := "○"
		if r.Cached {
			mark = "●"
			cached = append(cached, r)
		}
		fmt.Fprintf(&table, "│ %s │ %s │ %s │ %s │\n", r.Alias, r.ID, strings.ToUpper(r.Device), mark)
	}
	if cached == nil {
		cached = []FoundryCLIRow{}
	}
	out := map[string]string{
		"server status":         "State      Running\nPID        4242\nWeb URLs   " + base,
		"model list --variants": "■ Starting Foundry Local server\n" + table.String(),
	}
	if o.Version != "" {
		out["--version"] = o.Version
	}
	if o.NoJSON {
		return out
	}
	var list any = rows
	switch key := o.ModelsKey; key {
	case "-":
	case "":
		list = map[string]any{"variants": rows}
	default:
		list = map[string]any{key: rows}
	}
	models, _ := json.MarshalIndent(list, "", "  ")
	cache, _ := json.MarshalIndent(cached, "", "  ")
	status, _ := json.Marshal(map[string]any{"state": "Running", "pid": 4242, "webUrls": []string{base}})
	out["model list --variants --output json"] = "■ Starting Foundry Local server\n" + string(models)
	out["model list --output json"] = string(models)
	out["cache list --output json"] = string(cache)
	out["server status --output json"] = string(status)
	return out
}

// WriteCLI writes a fake `foundry` executable into dir that answers, about
// this service at base (its root URL, http://127.0.0.1:PORT), as the CLI
// 0.10+ does: `server status` (its address), `model list --variants` (the
// catalog's variants with their download state) and, unless o.NoJSON,
// the same with `--output json` and `cache list --output json`, and
// `--version` when o.Version is set. Anything
// else answers "Unrecognized command or argument" with exit status 1, as
// `service status` does on CLI 0.10+. The answers are those of the
// service's state when WriteCLI runs. It returns the executable's path;
// put dir first on PATH to use it. It needs a Unix shell.
func (f *Foundry) WriteCLI(dir, base string, o FoundryCLIOptions) (string, error) {
	if runtime.GOOS == "windows" {
		return "", errors.New("dialect: foundry: the fake CLI is a shell script and needs a Unix shell")
	}
	if !f.v1x {
		return "", errors.New("dialect: foundry: the fake CLI answers as CLI 0.10+, for the 1.x generation only")
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# flperf simulated foundry CLI (CLI 0.10+ answers)\ncase \"$*\" in\n")
	outs := f.cliOutputs(strings.TrimRight(base, "/"), o)
	for _, args := range []string{"server status --output json", "server status", "model list --variants --output json",
		"model list --output json", "cache list --output json", "model list --variants", "--version"} {
		text, ok := outs[args]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%q)\ncat <<'FLPERF_CLI_EOF'\n%s\nFLPERF_CLI_EOF\n;;\n", args, text)
	}
	b.WriteString("*)\necho \"Unrecognized command or argument '$*'.\" >&2\nexit 1\n;;\nesac\n")
	path := filepath.Join(dir, "foundry")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		return "", fmt.Errorf("dialect: foundry: writing the fake CLI: %w", err)
	}
	return path, nil
}
