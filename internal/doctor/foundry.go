package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"

	"flperf/internal/engine"
)

// Foundry is what the Foundry Local CLI says about its service, and what
// answers at the address it reports.
type Foundry struct {
	// Installed is false when no `foundry` is on PATH; nothing else is
	// then filled.
	Installed bool `json:"installed"`
	// CLIVersion is the first line of `foundry --version`.
	CLIVersion string `json:"cli_version"`
	// Generation is "legacy" (CLI ≤ 0.8: `foundry service status`) or
	// "1.x" (CLI 0.10+: `foundry server status`), from the command that
	// answered; "" when none did.
	Generation string `json:"generation"`
	// StatusCommand is the command that reported the address.
	StatusCommand string `json:"status_command"`
	// Status is what the status commands printed (each command's output,
	// trimmed, in the order run).
	Status []string `json:"status"`
	// Running is true when the CLI reports a running service at Endpoint.
	Running  bool   `json:"running"`
	Endpoint string `json:"endpoint"`
	// Port is the state of Endpoint's port: "accepting", "refused" or
	// "no answer" ("" when not probed).
	Port string `json:"port"`
	// Answers is true when Foundry Local (or an OpenAI-compatible server)
	// answered at Endpoint.
	Answers bool `json:"answers"`
	// ProcessRunning says whether a Foundry Local process is running (nil:
	// the process list could not be read); Processes names those found.
	ProcessRunning *bool    `json:"process_running"`
	Processes      []string `json:"processes"`
	// Diagnosis says what is wrong, in words; "" when nothing is.
	Diagnosis string `json:"diagnosis,omitempty"`
	// Restart is the command that restarts the service for this
	// generation of the CLI.
	Restart string `json:"-"`
}

// foundryProcess reports whether a process name is Foundry Local's: the
// CLI or service ("foundry…") or its Windows inference service.
func foundryProcess(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "foundry") || strings.HasPrefix(n, "inference.service.agent")
}

// foundry asks the CLI about the service and checks what it reports.
func (o Options) foundry(ctx context.Context) Foundry {
	f := Foundry{Status: []string{}, Processes: []string{}}
	out, err := o.Command(ctx, "foundry", "--version")
	if errors.Is(err, exec.ErrNotFound) || err != nil && strings.Contains(err.Error(), "executable file not found") {
		return f
	}
	f.Installed = true
	if err == nil {
		f.CLIVersion = firstLine(string(out))
	}
	// The engine package's own detection, with every command's output kept.
	var mu sync.Mutex
	p := o.prober()
	run := p.Command
	p.Command = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		out, err := run(ctx, name, args...)
		text := strings.TrimSpace(string(out))
		if text == "" && err != nil {
			text = err.Error()
		}
		mu.Lock()
		f.Status = append(f.Status, "$ "+name+" "+strings.Join(args, " ")+"\n"+bound(text, 2000))
		mu.Unlock()
		return out, err
	}
	base, by, err := p.FoundryEndpoint(ctx)
	f.StatusCommand = by
	switch {
	case strings.HasPrefix(by, "foundry server"):
		f.Generation, f.Restart = string(engine.Foundry1x), "foundry server stop && foundry server start"
	case strings.HasPrefix(by, "foundry service"):
		f.Generation, f.Restart = string(engine.FoundryLegacy), "foundry service restart"
	}
	if err != nil {
		f.Diagnosis = "The CLI says the service is not running. Start it with `foundry service start` (CLI 0.8 and older) or `foundry server start` (CLI 0.10+)."
		if strings.Contains(strings.Join(f.Status, "\n"), "Unrecognized command") && len(f.Status) > 0 && !strings.Contains(err.Error(), "not running") {
			f.Diagnosis = "The CLI's status commands did not report an address: " + err.Error()
		}
		return f
	}
	f.Running, f.Endpoint = true, base
	host := base
	if u, perr := url.Parse(base); perr == nil && u.Host != "" {
		host = u.Host
	}
	f.Port = dial(ctx, host, o.ProbeTimeout)
	if f.Port == portAccepting {
		ictx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
		info, ierr := p.Identify(ictx, base)
		cancel()
		f.Answers = ierr == nil && (info.Kind == engine.Foundry || info.Kind == engine.OpenAI)
	}
	pctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
	names, perr := o.Processes(pctx)
	cancel()
	if perr == nil {
		for _, n := range names {
			if foundryProcess(n) {
				f.Processes = append(f.Processes, n)
			}
		}
		running := len(f.Processes) > 0
		f.ProcessRunning = &running
	}
	if !f.Answers {
		f.Diagnosis = f.unserved(o.GOOS + "/" + o.GOARCH)
	}
	return f
}

// unserved words the diagnosis of a service that reports an address it
// does not serve, naming Windows ARM64 only on that platform.
func (f Foundry) unserved(platform string) string {
	what := "nothing accepts connections there"
	switch f.Port {
	case portAccepting:
		what = "what answers there is not Foundry Local"
	case portNoAnswer:
		what = "connections there get no answer"
	}
	proc := ""
	if f.ProcessRunning != nil {
		if *f.ProcessRunning {
			proc = ", though a Foundry Local process is running (" + strings.Join(f.Processes, ", ") + ")"
		} else {
			proc = ", and no Foundry Local process is running"
		}
	}
	s := fmt.Sprintf("`%s` says the service is running at %s, but %s%s.", f.StatusCommand, f.Endpoint, what, proc)
	if platform == "windows/arm64" {
		return s + " This is the known Foundry Local problem on Windows ARM64 (Snapdragon X): the CLI reports an endpoint that does not accept connections. " +
			"Restarting the service rarely helps; benchmark Ollama or llama.cpp's server instead, or pass --endpoint."
	}
	return s + " The service reports an address it does not serve: restart it (`" + f.Restart + "`)."
}

// engine is the Foundry Local service as an engine of the report, when
// the CLI reported one.
func (f Foundry) engine() *Engine {
	if !f.Running {
		return nil
	}
	v := ""
	if f.CLIVersion != "" {
		v = "CLI " + f.CLIVersion
	}
	return &Engine{Kind: string(engine.Foundry), Version: v, Endpoint: f.Endpoint, DetectedBy: f.StatusCommand,
		Healthy: f.Answers, Note: f.Diagnosis}
}

// firstLine is the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return bound(line, 200)
		}
	}
	return ""
}

// bound cuts s to at most n bytes, saying so.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " […]"
}
