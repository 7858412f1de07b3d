// Package doctor gathers what a bug report about flperf needs in one
// document: flperf's build, the operating system, processor and SoC,
// memory, GPUs and NPUs, every engine found with its version and health,
// the Foundry Local CLI and service (with the diagnosis of a service that
// reports an address nothing serves), the data directory and the
// database's integrity, and what to do next. Every probe is bounded in
// time, problems found are data (never an error), and the report names no
// host, user or home directory (Scrub).
package doctor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"flperf/internal/engine"
	"flperf/internal/store"
	"flperf/internal/telemetry"
)

// Report is what `flperf doctor --format json` prints and GET
// /api/v1/doctor serves.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// TookMS is how long gathering took, milliseconds.
	TookMS      int64              `json:"took_ms"`
	Flperf      Build              `json:"flperf"`
	System      System             `json:"system"`
	Engines     []Engine           `json:"engines"`
	Foundry     Foundry            `json:"foundry"`
	Data        Data               `json:"data"`
	Suggestions []string           `json:"suggestions"`
	Hardware    telemetry.Hardware `json:"hardware"`
}

// Build describes this flperf binary (runtime/debug build information).
type Build struct {
	Version   string `json:"version"`
	Go        string `json:"go"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Revision  string `json:"revision,omitempty"`    // vcs.revision
	Time      string `json:"time,omitempty"`        // vcs.time
	Modified  bool   `json:"modified"`              // vcs.modified: built from a tree with changes
	CGO       string `json:"cgo_enabled"`           // CGO_ENABLED at build time
	BuildArgs string `json:"build_flags,omitempty"` // -tags, -ldflags… as recorded
}

// System is the machine in a few words; Report.Hardware has the details.
type System struct {
	OS        string   `json:"os"`         // "ubuntu 24.04 (linux, kernel 6.8.0-45-generic)"
	Arch      string   `json:"arch"`       // GOARCH of this binary
	Processor string   `json:"processor"`  // the brand string
	Family    string   `json:"family"`     // "Snapdragon X Elite", "Apple M3 Pro", "Intel", "AMD"… or "" when unknown
	Cores     string   `json:"cores"`      // "8 cores, 16 threads"
	MemoryGiB *float64 `json:"memory_gib"` // physical memory
	GPUs      []string `json:"gpus"`       // name, memory, driver
	NPUs      []string `json:"npus"`       // as the OS names them
	Power     string   `json:"power"`      // "ac", "battery (80%)", "unknown"
	Notes     []string `json:"notes"`      // probes that failed
	Platform  string   `json:"platform"`   // GOOS/GOARCH the diagnosis is worded for
}

// Engine is one engine found, or one port that accepted a connection but
// did not answer in time.
type Engine struct {
	Kind       string `json:"kind"`
	Version    string `json:"version"`
	Endpoint   string `json:"endpoint"`
	DetectedBy string `json:"detected_by"`
	Simulated  bool   `json:"simulated"`
	Healthy    bool   `json:"healthy"`
	Note       string `json:"note,omitempty"`
}

// Data is where flperf keeps its data, and the database's check.
type Data struct {
	Dir string `json:"dir"`
	// DB is the database's check; Error says why it could not be found or
	// checked at all.
	DB    store.Integrity `json:"db"`
	Error string          `json:"error,omitempty"`
}

// Options configure Gather. The zero value looks at this machine.
type Options struct {
	// DBPath is the database checked; "" is the default one
	// (store.DefaultPath).
	DBPath string
	// GOOS and GOARCH are the platform the diagnosis is worded for; ""
	// is this binary's (runtime.GOOS, runtime.GOARCH).
	GOOS, GOARCH string
	// Command runs a program with a bounded time (nil: os/exec under
	// ProbeTimeout).
	Command func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Ports are the engines' usual ports probed (nil: engine.DefaultPorts).
	Ports []engine.Port
	// Fingerprint describes the machine (nil: telemetry.Fingerprint).
	Fingerprint func(ctx context.Context) telemetry.Hardware
	// Processes lists the running processes' names (nil: the OS's list).
	Processes func(ctx context.Context) ([]string, error)
	// ProbeTimeout bounds each probe: a command, an engine's
	// identification, a connection (0: DefaultProbeTimeout).
	ProbeTimeout time.Duration
	// Home, User and Host are what the report must not name (""
	// each: this process's home directory, user and host name).
	Home, User, Host string
}

// DefaultProbeTimeout bounds each probe when Options.ProbeTimeout is 0.
const DefaultProbeTimeout = 2 * time.Second

// Gather builds the report. It never fails: what cannot be found is said
// in the report. ctx bounds the whole (each probe is bounded by
// o.ProbeTimeout as well).
func Gather(ctx context.Context, o Options) *Report {
	start := time.Now()
	o = o.withDefaults()
	r := &Report{GeneratedAt: start.UTC().Truncate(time.Second), Flperf: currentBuild(), Engines: []Engine{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		fctx, cancel := context.WithTimeout(ctx, 2*o.ProbeTimeout)
		defer cancel()
		r.Hardware = o.Fingerprint(fctx)
	})
	wg.Go(func() { r.Engines = append(r.Engines, o.portEngines(ctx)...) })
	wg.Go(func() { r.Foundry = o.foundry(ctx) })
	wg.Go(func() { r.Data = o.data(ctx) })
	wg.Wait()
	r.System = summarize(r.Hardware, o.GOOS+"/"+o.GOARCH)
	if f := r.Foundry.engine(); f != nil {
		r.Engines = append([]Engine{*f}, r.Engines...)
	}
	r.Suggestions = suggest(r)
	r.TookMS = time.Since(start).Milliseconds()
	Scrub(r, NewScrubber(o.Home, o.User, o.Host))
	return r
}

func (o Options) withDefaults() Options {
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	if o.Command == nil {
		o.Command = boundedCommand(o.ProbeTimeout)
	} else {
		inner, d := o.Command, o.ProbeTimeout
		o.Command = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return inner(ctx, name, args...)
		}
	}
	if o.Ports == nil {
		o.Ports = engine.DefaultPorts
	}
	if o.Fingerprint == nil {
		o.Fingerprint = telemetry.Fingerprint
	}
	if o.Processes == nil {
		o.Processes = processNames
	}
	if o.Home == "" {
		o.Home, _ = os.UserHomeDir()
	}
	if o.User == "" {
		if u, err := user.Current(); err == nil {
			o.User = u.Username
			if i := strings.LastIndexAny(o.User, `\`); i >= 0 { // DOMAIN\user on Windows
				o.User = o.User[i+1:]
			}
		}
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	return o
}

// prober is an engine.Prober whose every request and command is bounded.
func (o Options) prober() *engine.Prober {
	return &engine.Prober{
		HTTP:    &http.Client{Timeout: o.ProbeTimeout},
		Command: o.Command,
		Ports:   o.Ports,
	}
}

// currentBuild reads the binary's build information.
func currentBuild() Build {
	b := Build{Version: "devel", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	var flags []string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "CGO_ENABLED":
			b.CGO = s.Value
		case "-tags", "-ldflags", "-trimpath", "-race":
			flags = append(flags, s.Key+"="+s.Value)
		}
	}
	if b.Version == "devel" && len(b.Revision) >= 12 {
		b.Version = "devel-" + b.Revision[:12]
	}
	b.BuildArgs = strings.Join(flags, " ")
	return b
}

// portEngines probes the usual ports: a port that refuses connections is
// nothing running (not listed); one that accepts is identified within the
// probe timeout, and listed unhealthy with the reason when it is not.
func (o Options) portEngines(ctx context.Context) []Engine {
	found := make([]*Engine, len(o.Ports))
	p := o.prober()
	var wg sync.WaitGroup
	for i, port := range o.Ports {
		wg.Go(func() {
			addr := fmt.Sprintf("127.0.0.1:%d", port.Port)
			if dial(ctx, addr, o.ProbeTimeout) != portAccepting {
				return
			}
			pctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout)
			defer cancel()
			base := "http://" + addr + "/v1"
			info, err := p.Identify(pctx, base)
			e := Engine{Kind: string(info.Kind), Version: info.Version, Endpoint: base, DetectedBy: fmt.Sprintf("port %d", port.Port),
				Simulated: info.Simulated, Healthy: err == nil}
			if err != nil {
				e.Kind = string(port.Hint)
				e.Note = fmt.Sprintf("port %d accepts connections but did not identify itself within %v (usually %s's port): %v", port.Port, o.ProbeTimeout, port.Hint, shortErr(err, pctx))
			}
			found[i] = &e
		})
	}
	wg.Wait()
	var out []Engine
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// shortErr words a probe's error, naming the timeout when ctx ran out.
func shortErr(err error, ctx context.Context) string {
	if ctx.Err() != nil {
		return "no answer in time"
	}
	return err.Error()
}

// Port states.
const (
	portAccepting = "accepting"
	portRefused   = "refused"
	portNoAnswer  = "no answer"
)

// dial says whether addr accepts TCP connections within d.
func dial(ctx context.Context, addr string, d time.Duration) string {
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var nd net.Dialer
	c, err := nd.DialContext(dctx, "tcp", addr)
	if err == nil {
		c.Close()
		return portAccepting
	}
	if dctx.Err() != nil {
		return portNoAnswer
	}
	return portRefused
}

// data finds the database and checks it.
func (o Options) data(ctx context.Context) Data {
	path := o.DBPath
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return Data{Error: err.Error(), DB: store.Integrity{Problems: []string{}}}
		}
		path = p
	}
	in, err := store.Check(ctx, path)
	d := Data{Dir: filepath.Dir(in.Path), DB: in}
	if store.IsPostgres(path) { // the local data directory, not the URL's
		d.Dir = ""
		if p, err := store.DefaultPath(); err == nil {
			d.Dir = filepath.Dir(p)
		}
	}
	if err != nil {
		d.Error = err.Error()
	}
	return d
}
