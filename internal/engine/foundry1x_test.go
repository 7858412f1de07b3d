package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// foundry1xFake serves a simulated Foundry Local 1.x web service on
// 127.0.0.1 and returns it with a manager that must probe its generation.
func foundry1xFake(t *testing.T, opts dialect.FoundryOptions) (*dialect.Foundry, *FoundryManager, string) {
	t.Helper()
	opts.Generation = dialect.Foundry1x
	return foundryFake(t, opts)
}

// foundryNoCLI leaves no `foundry` executable on PATH.
func foundryNoCLI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
}

// foundryCLICase is one command a fake CLI answers: a shell case pattern
// over its arguments joined by spaces, and the shell code that answers.
type foundryCLICase struct{ pattern, body string }

// foundryPrint is shell code printing text verbatim.
func foundryPrint(text string) string {
	return "cat <<'FLPERF_EOF'\n" + text + "\nFLPERF_EOF"
}

// foundry1xCLI writes a fake `foundry` executable first on PATH, answering
// cases in order (anything else: "Unrecognized command", exit 1). It
// logs each invocation's argument vector, one argument per line and
// "---" after each, to the returned file.
func foundry1xCLI(t *testing.T, cases ...foundryCLICase) (argLog string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts as a fake foundry CLI need a Unix shell")
	}
	dir := t.TempDir()
	argLog = filepath.Join(dir, "args.log")
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\nprintf '%%s\\n' \"$@\" >> '%s'\necho --- >> '%s'\ncase \"$*\" in\n", argLog, argLog)
	for _, c := range cases {
		fmt.Fprintf(&b, "%s)\n%s\n;;\n", c.pattern, c.body)
	}
	b.WriteString("*)\necho \"Unrecognized command or argument '$*'.\" >&2\nexit 1\n;;\nesac\n")
	if err := os.WriteFile(filepath.Join(dir, "foundry"), []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argLog
}

// foundryInvocations reads a fake CLI's argument log.
func foundryInvocations(t *testing.T, argLog string) [][]string {
	t.Helper()
	b, err := os.ReadFile(argLog)
	if err != nil {
		return nil
	}
	var out [][]string
	var cur []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "---" {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	return out
}

// foundryVariantsTable is `foundry model list --variants` of CLI 0.10+
// over part of the dialect's default catalog: versionless variant ids, as
// the CLI prints them, Phi CPU and Qwen CPU cached.
const foundryVariantsTable = `■ Starting Foundry Local server

CUDAExecutionProvider          ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100%

● success: Server ready (http://127.0.0.1:51454)
╭──────────────┬──────────────────────────────────────┬──────┬────────┬───────────────────────────┬─────────┬────────╮
│ Model Name   │ Variant                              │ Type │ Device │ Execution Provider        │ Size    │ Cached │
├──────────────┼──────────────────────────────────────┼──────┼────────┼───────────────────────────┼─────────┼────────┤
│ phi-4-mini   │ Phi-4-mini-instruct-qnn-npu          │ Chat │ NPU    │ QNNExecutionProvider      │ 2.5 GB  │ ○      │
│ phi-4-mini   │ Phi-4-mini-instruct-cuda-gpu         │ Chat │ GPU    │ CUDAExecutionProvider     │ 3.6 GB  │ ○      │
│ phi-4-mini   │ Phi-4-mini-instruct-generic-gpu      │ Chat │ GPU    │ WebGpuExecutionProvider   │ 3.6 GB  │ ○      │
│ phi-4-mini   │ Phi-4-mini-instruct-generic-cpu      │ Chat │ CPU    │ CPUExecutionProvider      │ 4.7 GB  │ ●      │
│ qwen2.5-0.5b │ qwen2.5-0.5b-instruct-generic-cpu    │ Chat │ CPU    │ CPUExecutionProvider      │ 822 MB  │ ●      │
╰──────────────┴──────────────────────────────────────┴──────┴────────┴───────────────────────────┴─────────┴────────╯`

func TestFoundryGenerationDetection(t *testing.T) {
	ctx := context.Background()
	_, m1, base1 := foundry1xFake(t, dialect.FoundryOptions{})
	_, ml, baseL := foundryFake(t, dialect.FoundryOptions{})
	if g, err := m1.Generation(ctx); err != nil || g != Foundry1x {
		t.Errorf("1.x service: %q, %v", g, err)
	}
	if g, err := ml.Generation(ctx); err != nil || g != FoundryLegacy {
		t.Errorf("legacy service: %q, %v", g, err)
	}
	for base, want := range map[string]FoundryGeneration{base1: Foundry1x, baseL: FoundryLegacy} {
		if g, err := FoundryGenerationAt(ctx, nil, base+"/v1"); err != nil || g != want {
			t.Errorf("FoundryGenerationAt(%s) = %q, %v; want %q", base, g, err, want)
		}
	}

	// The CLI command that found the service decides without a request.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	for by, want := range map[string]FoundryGeneration{"foundry server status": Foundry1x, "foundry service status": FoundryLegacy} {
		if g, err := NewFoundry(Info{Kind: Foundry, Endpoint: dead, DetectedBy: by}, nil).Generation(ctx); err != nil || g != want {
			t.Errorf("found by %q: %q, %v", by, g, err)
		}
	}
	if _, err := NewFoundry(Info{Kind: Foundry, Endpoint: dead}, nil).Generation(ctx); !errors.Is(err, ErrUnreachable) {
		t.Errorf("dead endpoint: %v, want ErrUnreachable", err)
	}
	// An OpenAI server that is not Foundry Local answers neither shape.
	srv, err := sim.New(sim.Profile{Name: "m", DecodeTPS: 100})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	if _, err := FoundryGenerationAt(ctx, ts.Client(), ts.URL+"/v1"); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("plain OpenAI server: %v", err)
	}
}

// foundry1xDisguised serves the 1.x dialect without /flperf/sim, as a real
// Foundry Local 1.x would answer.
func foundry1xDisguised(t *testing.T, opts dialect.FoundryOptions) (*dialect.Foundry, string) {
	t.Helper()
	opts.Generation = dialect.Foundry1x
	d, err := dialect.NewFoundry(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flperf/sim" {
			http.NotFound(w, r)
			return
		}
		d.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return d, ts.URL
}

func TestFoundry1xFoundByServerStatus(t *testing.T) {
	d, base := foundry1xDisguised(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}})
	foundryScript(t, "Unrecognized command or argument 'service'.",
		"State      Running\nPID        4242\nWeb URLs   "+base, true)
	det := (&Prober{Ports: []Port{}}).Detect(context.Background())
	if !det.Found || det.Info.Kind != Foundry || det.Info.DetectedBy != "foundry server status" {
		t.Fatalf("Detect = %+v", det)
	}
	m, ok := NewManager(det.Info, nil).(*FoundryManager)
	if !ok {
		t.Fatalf("NewManager gave %T", NewManager(det.Info, nil))
	}
	n := len(d.Requests())
	if g, err := m.Generation(context.Background()); err != nil || g != Foundry1x {
		t.Fatalf("generation %q, %v", g, err)
	}
	if len(d.Requests()) != n {
		t.Errorf("the generation was probed although the CLI command implied it")
	}
	// The CLI here knows no JSON nor variants: the alias loads (1.x loads
	// by alias), and /models/loaded says which variant that is.
	if _, err := m.Load(context.Background(), "phi-4-mini", LoadOptions{TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := d.Loaded(); !slices.Equal(got, []string{phiCPU}) {
		t.Errorf("loaded = %v", got)
	}
}

func TestFoundry1xCapabilities(t *testing.T) {
	_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
	foundryNoCLI(t)
	want := Capabilities{Catalog: true, Loaded: true, Load: true, Unload: true}
	if got := m.Capabilities(); got != want {
		t.Errorf("without the CLI: %+v, want %+v", got, want)
	}
	foundry1xCLI(t)
	want.Downloaded, want.Download = true, true
	if got := m.Capabilities(); got != want {
		t.Errorf("with the CLI: %+v, want %+v", got, want)
	}
	_, ml, _ := foundryFake(t, dialect.FoundryOptions{})
	if got := ml.Capabilities(); got != (Capabilities{Catalog: true, Downloaded: true, Loaded: true, Download: true, Load: true, Unload: true}) {
		t.Errorf("legacy: %+v", got)
	}
}

func TestFoundry1xLoadUnload(t *testing.T) {
	d, m, base := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, LoadDelay: 20 * time.Millisecond})
	foundry1xSimCLI(t, d, base, dialect.FoundryCLIOptions{})
	var notes []string
	m.Note = func(s string) { notes = append(notes, s) }
	ctx := context.Background()
	if ld, err := m.Models(ctx, LoadedSet); err != nil || len(ld) != 0 {
		t.Fatalf("loaded at start = %+v, %v", ld, err)
	}
	// The variant id first; the public core answers 404 (its load route
	// takes aliases only), so the alias the CLI names is loaded.
	took, status, err := m.load1x(ctx, phiCPU, LoadOptions{TTL: time.Hour})
	if err != nil || status != foundryLoaded || took < 20*time.Millisecond {
		t.Fatalf("load = %v, %q, %v; want loaded, taking at least the fake's 20 ms", took, status, err)
	}
	var routed []string
	for _, r := range d.Requests() {
		if strings.HasPrefix(r.Path, "/models/load/") {
			routed = append(routed, r.ID)
		}
	}
	if want := []string{phiCPU, "phi-4-mini"}; !slices.Equal(routed, want) {
		t.Errorf("load routes asked = %q, want %q (the id, then its alias on 404)", routed, want)
	}
	if _, status, err = m.load1x(ctx, phiCPU, LoadOptions{}); err != nil || status != foundryAlreadyLoaded {
		t.Errorf("second load = %q, %v; want already_loaded", status, err)
	}
	if took, err := m.Load(ctx, phiCPU, LoadOptions{}); err != nil || took != 0 || len(notes) != 1 || !strings.Contains(notes[0], "already loaded") {
		t.Errorf("Load of a loaded model = %v, %v (notes %q); want 0 and a note", took, err, notes)
	}
	ld, err := m.Models(ctx, LoadedSet)
	if err != nil || len(ld) != 1 || ld[0].ID != phiCPU || ld[0].Device != "CPU" || ld[0].ExecutionProvider != "CPUExecutionProvider" || !*ld[0].Loaded {
		t.Errorf("loaded = %+v, %v", ld, err)
	}
	if n := d.Stats().Loads; n != 1 {
		t.Errorf("the service loaded %d times, want 1", n)
	}

	// The execution provider is the variant's: a contradiction is refused
	// before any request.
	n := len(d.Requests())
	if _, err := m.Load(ctx, phiCUDA, LoadOptions{ExecutionProvider: "qnn"}); err == nil || !strings.Contains(err.Error(), "CUDAExecutionProvider") {
		t.Errorf("EP mismatch: %v", err)
	}
	if len(d.Requests()) != n {
		t.Errorf("a contradicted load sent requests")
	}

	// Unload: the id is 404 too; a listed variant is unloaded through its
	// alias, an unlisted one is not loaded (and no alias is unloaded).
	if status, err := m.unload1x(ctx, phiCPU); err != nil || status != foundryUnloaded {
		t.Errorf("unload = %q, %v", status, err)
	}
	if status, err := m.unload1x(ctx, phiCPU); err != nil || status != foundryNotLoaded {
		t.Errorf("second unload = %q, %v", status, err)
	}
	if err := m.Unload(ctx, phiCPU); err != nil {
		t.Errorf("Unload of an unloaded model: %v", err)
	}
	if st := d.Stats(); st.Unloads != 1 || len(d.Loaded()) != 0 {
		t.Errorf("after unloads: %+v, loaded %v", st, d.Loaded())
	}

	// Unknown ids and models not downloaded: clear errors naming the names tried.
	for _, op := range []func(string) error{
		func(id string) error { _, err := m.Load(ctx, id, LoadOptions{}); return err },
	} {
		if err := op("no-such-model:7"); err == nil || !strings.Contains(err.Error(), `"no-such-model:7"`) || !strings.Contains(err.Error(), "HTTP 404") {
			t.Errorf("unknown id: %v", err)
		}
	}
	if err := m.Unload(ctx, "no-such-model:7"); err != nil {
		t.Errorf("unloading an unknown, unlisted id: %v", err)
	}
	_, err = m.Load(ctx, qwenCPU10, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "not downloaded") || !strings.Contains(err.Error(), "foundry model download qwen2.5-0.5b") ||
		!strings.Contains(err.Error(), "Model not cached") {
		t.Errorf("not cached: %v", err)
	}
	if _, err := m.Load(ctx, "", LoadOptions{}); err == nil {
		t.Error("empty id accepted")
	}
	// No legacy route was ever asked for.
	for _, r := range d.Requests() {
		if strings.HasPrefix(r.Path, "/openai/") || strings.HasPrefix(r.Path, "/foundry/") {
			t.Errorf("legacy request %s %s", r.Method, r.Path)
		}
	}
}

func TestFoundryParseVariantID(t *testing.T) {
	for _, c := range []struct{ id, family, device, ep string }{
		{"qwen2.5-0.5b-instruct-generic-cpu:3", "qwen2.5-0.5b-instruct", "CPU", "CPUExecutionProvider"},
		{"Phi-4-mini-instruct-cuda-gpu:1", "Phi-4-mini-instruct", "GPU", "CUDAExecutionProvider"},
		{"deepseek-r1-distill-qwen-7b-qnn-npu", "deepseek-r1-distill-qwen-7b", "NPU", "QNNExecutionProvider"},
		{"qwen2.5-1.5b-instruct-openvino-npu:2", "qwen2.5-1.5b-instruct", "NPU", "OpenVINOExecutionProvider"},
		{"m-VITIS-NPU:1", "m", "NPU", "VitisAIExecutionProvider"},
		{"Phi-4-mini-instruct-generic-gpu:2", "Phi-4-mini-instruct", "GPU", ""},
		{"model-trtrtx-gpu:1", "model", "GPU", "NvTensorRTRTXExecutionProvider"},
		{"model-x-gpu:1", "model", "GPU", ""},
		{"sim-fast", "sim-fast", "", ""},
		{"gpu", "gpu", "", ""},
		{"-generic-cpu", "-generic-cpu", "", ""},
		{"", "", "", ""},
		{":1", "", "", ""},
	} {
		f, d, e := foundryParseVariantID(c.id)
		if f != c.family || d != c.device || e != c.ep {
			t.Errorf("foundryParseVariantID(%q) = %q, %q, %q; want %q, %q, %q", c.id, f, d, e, c.family, c.device, c.ep)
		}
	}
}

func TestFoundry1xCatalog(t *testing.T) {
	foundryNoCLI(t)
	_, m, _ := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}})
	ctx := context.Background()
	if _, err := m.Load(ctx, "phi-4-mini", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	models, err := m.Models(ctx, CatalogSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != len(foundryCat) {
		t.Fatalf("%d models, want every one of the %d variants, downloaded or not", len(models), len(foundryCat))
	}
	by := map[string]Model{}
	for i, mo := range models {
		if mo.ID != foundryCat[i].Name {
			t.Errorf("model %d = %s, want %s (service order)", i, mo.ID, foundryCat[i].Name)
		}
		by[mo.ID] = mo
	}
	for _, c := range []struct{ id, alias, device, ep string }{
		{phiNPU, "Phi-4-mini-instruct", "NPU", "QNNExecutionProvider"},
		{phiCUDA, "Phi-4-mini-instruct", "GPU", "CUDAExecutionProvider"},
		{phiGPU2, "Phi-4-mini-instruct", "GPU", ""},
		{qwenCPU9, "qwen2.5-0.5b-instruct", "CPU", "CPUExecutionProvider"},
		{qwenNPU, "qwen2.5-0.5b-instruct", "NPU", "OpenVINOExecutionProvider"},
		{mistralGPU, "mistralai-Mistral-7B-Instruct-v0-2", "GPU", ""},
	} {
		mo := by[c.id]
		if mo.Alias != c.alias || mo.Device != c.device || mo.ExecutionProvider != c.ep || mo.Downloaded != nil {
			t.Errorf("%s = alias %q, %q, %q, downloaded %s; want %q, %q, %q, unknown", c.id, mo.Alias, mo.Device, mo.ExecutionProvider,
				foundryPtr(mo.Downloaded), c.alias, c.device, c.ep)
		}
	}
	if mo := by[phiCPU]; mo.Loaded == nil || !*mo.Loaded || mo.Downloaded == nil || !*mo.Downloaded {
		t.Errorf("loaded variant: %+v", mo)
	}
	if mo := by[phiNPU]; mo.Loaded == nil || *mo.Loaded {
		t.Errorf("unloaded variant: loaded %s", foundryPtr(mo.Loaded))
	}

	// Without the CLI the aliases are the ids' families; resolution works
	// on them, in the service's order.
	for _, c := range []struct{ key, device, want string }{
		{"Phi-4-mini-instruct", "", phiNPU},
		{"phi-4-mini-instruct", "gpu", phiCUDA},
		{"qwen2.5-0.5b-instruct-generic-cpu", "", qwenCPU10},
		{phiGPU2, "", phiGPU2},
	} {
		if got, err := m.Resolve(ctx, c.key, c.device); err != nil || got.ID != c.want {
			t.Errorf("Resolve(%q, %q) = %s, %v; want %s", c.key, c.device, got.ID, err, c.want)
		}
	}
	if _, err := m.Resolve(ctx, "llama-3", ""); err == nil || !strings.Contains(err.Error(), "Phi-4-mini-instruct") {
		t.Errorf("unknown: %v", err)
	}
	// Downloaded and Download need the CLI.
	if _, err := m.Models(ctx, DownloadedSet); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "foundry model download") {
		t.Errorf("downloaded without the CLI: %v", err)
	}
	var log foundryProgressLog
	if err := m.Download(ctx, phiNPU, log.add); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "foundry model download "+phiNPU) {
		t.Errorf("download without the CLI: %v", err)
	}
	if len(log.all) != 1 || !log.all[0].Done || log.all[0].Err == "" {
		t.Errorf("progress = %+v", log.all)
	}
}

func TestFoundry1xCatalogWithCLI(t *testing.T) {
	argLog := foundry1xCLI(t, foundryCLICase{`"model list --variants"`, foundryPrint(foundryVariantsTable)})
	_, m, _ := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU, qwenCPU10}})
	ctx := context.Background()
	models, err := m.Models(ctx, CatalogSet)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Model{}
	for _, mo := range models {
		by[mo.ID] = mo
	}
	for _, c := range []struct {
		id, alias, ep string
		size          int64
		downloaded    bool
	}{
		{phiNPU, "phi-4-mini", "QNNExecutionProvider", 2560 << 20, false},
		{phiGPU2, "phi-4-mini", "WebGpuExecutionProvider", 3686 << 20, false},
		{phiCPU, "phi-4-mini", "CPUExecutionProvider", 4813 << 20, true},
		// The CLI prints ids without versions: every version matches.
		{qwenCPU9, "qwen2.5-0.5b", "CPUExecutionProvider", 822 << 20, true},
		// Not in the CLI's table: the id's own family, not downloaded.
		{qwenNPU, "qwen2.5-0.5b-instruct", "OpenVINOExecutionProvider", 0, false},
	} {
		mo := by[c.id]
		if mo.Alias != c.alias || mo.ExecutionProvider != c.ep || mo.SizeBytes != c.size || mo.Downloaded == nil || *mo.Downloaded != c.downloaded {
			t.Errorf("%s = %q %q %d downloaded %s; want %q %q %d %v", c.id, mo.Alias, mo.ExecutionProvider, mo.SizeBytes,
				foundryPtr(mo.Downloaded), c.alias, c.ep, c.size, c.downloaded)
		}
	}
	// An alias prefers a downloaded variant (SDK 1.x), then service order.
	for _, c := range []struct{ key, device, want string }{
		{"phi-4-mini", "", phiCPU},
		{"phi-4-mini", "gpu", phiCUDA},
		{"PHI-4-MINI", "npu", phiNPU},
	} {
		got, err := m.Resolve(ctx, c.key, c.device)
		if err != nil || got.ID != c.want {
			t.Errorf("Resolve(%q, %q) = %s, %v; want %s", c.key, c.device, got.ID, err, c.want)
		}
	}
	if got, _ := m.Resolve(ctx, "phi-4-mini", ""); got.Downloaded == nil || !*got.Downloaded || got.Loaded == nil || *got.Loaded {
		t.Errorf("resolved state: downloaded %s, loaded %s", foundryPtr(got.Downloaded), foundryPtr(got.Loaded))
	}
	// This CLI knows no --output json: each listing tries the JSON forms,
	// then reads the variant table.
	for _, inv := range foundryInvocations(t, argLog) {
		if inv[len(inv)-1] != "json" && !slices.Equal(inv, []string{"model", "list", "--variants"}) {
			t.Errorf("CLI run with %q", inv)
		}
	}
}

func TestFoundry1xDownloadedViaCLI(t *testing.T) {
	ctx := context.Background()
	t.Run("variants table", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"model list --variants"`, foundryPrint(foundryVariantsTable)})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}})
		if _, err := m.Load(ctx, "phi-4-mini", LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		dl, err := m.Models(ctx, DownloadedSet)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, mo := range dl {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", mo.ID, mo.Alias, mo.Device, foundryPtr(mo.Downloaded), foundryPtr(mo.Loaded)))
		}
		want := []string{"Phi-4-mini-instruct-generic-cpu phi-4-mini CPU true true", "qwen2.5-0.5b-instruct-generic-cpu qwen2.5-0.5b CPU true false"}
		if !slices.Equal(got, want) {
			t.Errorf("downloaded = %q, want %q", got, want)
		}
	})
	t.Run("legacy cache list", func(t *testing.T) {
		argLog := foundry1xCLI(t, foundryCLICase{`"cache list"`, foundryPrint("Models cached on device:\n   Alias                         Model ID\n" +
			"💾 qwen2.5-0.5b                  qwen2.5-0.5b-instruct-generic-cpu:10\n💾 phi-4-mini                    Phi-4-mini-instruct-cuda-gpu:1")})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		dl, err := m.Models(ctx, DownloadedSet)
		if err != nil || len(dl) != 2 || dl[0].ID != qwenCPU10 || dl[0].Alias != "qwen2.5-0.5b" || dl[1].ID != phiCUDA ||
			dl[1].Device != "GPU" || dl[1].ExecutionProvider != "CUDAExecutionProvider" {
			t.Fatalf("downloaded = %+v, %v", dl, err)
		}
		inv := foundryInvocations(t, argLog)
		var order []string
		for _, a := range inv {
			order = append(order, strings.Join(a, " "))
		}
		if want := []string{"model list --variants --output json", "model list --output json", "cache list --output json",
			"model list --variants", "cache list"}; !slices.Equal(order, want) {
			t.Errorf("invocations = %q; want the JSON listings, then the variants table, then the cache", order)
		}
	})
	t.Run("empty cache", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"cache list"`, foundryPrint("No models cached on device")})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		if dl, err := m.Models(ctx, DownloadedSet); err != nil || len(dl) != 0 {
			t.Errorf("downloaded = %+v, %v", dl, err)
		}
		// Known to be empty: every catalog variant is not downloaded (not unknown).
		models, err := m.Models(ctx, CatalogSet)
		if err != nil || len(models) != len(foundryCat) {
			t.Fatalf("catalog = %d models, %v", len(models), err)
		}
		for _, mo := range models {
			if mo.Downloaded == nil || *mo.Downloaded {
				t.Errorf("%s: downloaded %s, want false", mo.ID, foundryPtr(mo.Downloaded))
			}
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"cache list"`, foundryPrint("╭───────┬──────┬────────┬────────╮\n│ Alias │ Size │ Device │ Loaded │\n├───────┼──────┼────────┼────────┤\n│ phi-4-mini │ 4.7 GB │ CPU │ ○ │\n╰───────┴──────┴────────┴────────╯")})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		_, err := m.Models(ctx, DownloadedSet)
		if err == nil || !strings.Contains(err.Error(), "Unrecognized command") || !strings.Contains(err.Error(), "no table of model ids") {
			t.Errorf("err = %v", err)
		}
		// The catalog still lists everything, download state unknown, and says why.
		var notes []string
		m.Note = func(s string) { notes = append(notes, s) }
		models, err := m.Models(ctx, CatalogSet)
		if err != nil || len(models) != len(foundryCat) || models[0].Downloaded != nil || len(notes) != 1 || !strings.Contains(notes[0], "download state") {
			t.Errorf("catalog = %d models, %v, notes %q", len(models), err, notes)
		}
	})
}

func TestParseFoundryCLIList(t *testing.T) {
	ascii := `+--------------------------------------------------------------------+
| Model Name      | Variant                                  | Type | Device | Execution Provider   | Size    | Cached |
|-----------------+------------------------------------------+------+--------+----------------------+---------+--------|
| deepseek-r1-14b | deepseek-r1-distill-qwen-14b-generic-cpu | Chat | CPU    | CPUExecutionProvider | 11.5 GB | ○      |
| deepseek-r1-7b  | deepseek-r1-distill-qwen-7b-qnn-npu:3    | Chat | NPU    | —                    | 6.4 GB  | ●      |
| odd             | two words                                | Chat | CPU    | x                    | 1 GB    | ●      |
| short row |
+--------------------------------------------------------------------+`
	legacyList := `🟢 Service is Started on http://127.0.0.1:55651/, PID 21152!
[16:16:38 ERR] Failed to process model #0 on page 1.
Alias                          Device     Task               File Size    License      Model ID
-----------------------------------------------------------------------------------------------
phi-4                          GPU        chat-completion    8.37 GB      MIT          Phi-4-generic-gpu
                               CPU        chat-completion    10.16 GB     MIT          Phi-4-generic-cpu
--------------------------------------------------------------------------------------------------------
qwen3-vl-4b-instruct           CPU        vision-language-chat, tools 2.73 GB      apache-2.0   qwen3-vl-4b-instruct-generic-cpu:3`
	for _, c := range []struct {
		name, out string
		fromCache bool
		ok        bool
		want      []string // "id alias device ep sizeMB cached"
	}{
		{"box variants", foundryVariantsTable, false, true, []string{
			"Phi-4-mini-instruct-qnn-npu phi-4-mini NPU QNNExecutionProvider 2560 false",
			"Phi-4-mini-instruct-cuda-gpu phi-4-mini GPU CUDAExecutionProvider 3686 false",
			"Phi-4-mini-instruct-generic-gpu phi-4-mini GPU WebGpuExecutionProvider 3686 false",
			"Phi-4-mini-instruct-generic-cpu phi-4-mini CPU CPUExecutionProvider 4813 true",
			"qwen2.5-0.5b-instruct-generic-cpu qwen2.5-0.5b CPU CPUExecutionProvider 822 true",
		}},
		{"ascii variants", ascii, false, true, []string{
			"deepseek-r1-distill-qwen-14b-generic-cpu deepseek-r1-14b CPU CPUExecutionProvider 11776 false",
			"deepseek-r1-distill-qwen-7b-qnn-npu:3 deepseek-r1-7b NPU  6554 true",
		}},
		{"0.10 model list: aliases only", "│ Model Name │ Type │ Size │ Device │ Tools │ Cached │\n│ phi-4 │ Chat │ 1 GB │ CPU │ ○ │ ● │", false, false, nil},
		{"0.10 empty table", "╭────────────┬──────┬──────┬────────┬───────┬────────╮\n│ Model Name │ Type │ Size │ Device │ Tools │ Cached │\n╰────────────┴──────┴──────┴────────┴───────┴────────╯", false, true, nil},
		{"legacy model list", legacyList, false, false, []string{
			"Phi-4-generic-gpu phi-4 GPU  0 nil",
			"Phi-4-generic-cpu phi-4 CPU  0 nil",
			"qwen3-vl-4b-instruct-generic-cpu:3 qwen3-vl-4b-instruct CPU  0 nil",
		}},
		{"legacy cache list", "Models cached on device:\n   Alias                         Model ID\n💾 qwen2.5-0.5b                  qwen2.5-0.5b-instruct-generic-cpu\n", true, true, []string{
			"qwen2.5-0.5b-instruct-generic-cpu qwen2.5-0.5b   0 true",
		}},
		{"no models cached", "No models cached on device\n", true, true, nil},
		{"cache list table with ids", "| Alias | Model ID |\n|---|---|\n| a | a-generic-cpu:1 |", true, true, []string{"a-generic-cpu:1 a   0 true"}},
		{"junk", "Exception: catalog unavailable", true, false, nil},
		{"empty", "", false, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, ok := parseFoundryCLIList(c.out, c.fromCache)
			if ok != c.ok {
				t.Errorf("ok = %v, want %v", ok, c.ok)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s %s %s %s %d %s", r.ID, r.Alias, r.Device, r.EP, r.SizeMB, foundryPtr(r.Cached)))
			}
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func FuzzParseFoundryCLIList(f *testing.F) {
	f.Add(foundryVariantsTable, false)
	f.Add("Alias Device Model ID\nx CPU y\n   GPU z\n💾 a b", true)
	f.Add("│ Variant │ Cached │\n│ │ ● │\n│ a b │ ? │", false)
	f.Fuzz(func(t *testing.T, out string, fromCache bool) {
		rows, _ := parseFoundryCLIList(out, fromCache)
		for _, r := range rows {
			if r.ID == "" || strings.ContainsAny(r.ID, " \t\n") || r.SizeMB < 0 {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

// foundryDownloadScript is shell code printing the lines of a download, a
// progress bar rewritten with "\r" included.
func foundryDownloadScript(lines []string, exit int) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "printf '%%s\\n' '%s'\n", strings.ReplaceAll(l, "'", `'\''`))
	}
	fmt.Fprintf(&b, "exit %d", exit)
	return b.String()
}

func TestFoundry1xDownloadViaCLI(t *testing.T) {
	ctx := context.Background()
	t.Run("success", func(t *testing.T) {
		id := "phi-4-mini; touch pwned $(id)"
		argLog := foundry1xCLI(t, foundryCLICase{`"model download "*`, "printf 'Downloading %s...\\r' \"$3\"\n" + foundryDownloadScript([]string{
			"CUDAExecutionProvider          ━━━━━━━━━━━━━━━━━━━━ 100%",
			"[18:04:33 ERR] Failed to process model #0 on page 1.",
			"[####                                ]  10.00 % [Time remaining: about 5m]        15.5 MB/s",
			"Total 52.10% Downloading model.onnx.data",
			"[##############                      ]  40.95 % [Time remaining: about 3m]        15.5 MB/s",
			"[####################################] 100.00 % [Time remaining: about 0s]        19.8 MB/s",
			"Model downloaded successfully",
		}, 0)})
		dir := t.TempDir()
		t.Chdir(dir)
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		var log foundryProgressLog
		if err := m.Download(ctx, id, log.add); err != nil {
			t.Fatal(err)
		}
		if pcts := log.check(t); !slices.Equal(pcts, []float64{-1, 10, 52.1, 100}) {
			t.Errorf("percentages = %v, want -1 10 52.1 100 (the EP bar and the decrease ignored)", pcts)
		}
		if last := log.all[len(log.all)-1]; !last.Done || last.Err != "" || last.Percent != 100 {
			t.Errorf("last report = %+v", last)
		}
		if !slices.ContainsFunc(log.all, func(p Progress) bool { return strings.HasPrefix(p.Status, "Downloading "+id) }) {
			t.Errorf("the CLI's own words are not reported: %+v", log.all)
		}
		if inv := foundryInvocations(t, argLog); len(inv) != 1 || !slices.Equal(inv[0], []string{"model", "download", id}) {
			t.Errorf("invocations = %q; want one argument vector with the id as one argument", inv)
		}
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Error("the id was run through a shell")
		}
	})
	t.Run("fails half-way", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"model download "*`, foundryDownloadScript([]string{
			"Downloading Phi-3.5-mini-instruct-cuda-gpu:1...",
			"[#########                           ]  25.00 %",
			"[##################                  ]  50.00 %",
			"[14:20:52 ERR] Failed to download model Phi-3.5-mini-instruct-cuda-gpu:1, error The SSL connection could not be established",
			"Failed: Downloading Phi-3.5-mini-instruct-cuda-gpu:1",
			"Exception: The SSL connection could not be established, see inner exception.",
		}, 1)})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		var log foundryProgressLog
		err := m.Download(ctx, "phi-3.5-mini", log.add)
		if err == nil || !strings.Contains(err.Error(), "phi-3.5-mini") || !strings.Contains(err.Error(), "50.0%") ||
			!strings.Contains(err.Error(), "Failed: Downloading Phi-3.5-mini-instruct-cuda-gpu:1") || !strings.Contains(err.Error(), "exit status 1") {
			t.Fatalf("err = %v", err)
		}
		pcts := log.check(t)
		if top := pcts[len(pcts)-1]; top != 50 {
			t.Errorf("progress reached %v, want it stopped at 50", top)
		}
		if last := log.all[len(log.all)-1]; !last.Done || !strings.Contains(last.Err, "Failed: Downloading") {
			t.Errorf("last report = %+v", last)
		}
	})
	t.Run("exit 0 with an error line", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"model download "*`, foundryDownloadScript([]string{"Total 30% x", "● error: IPC error 'op_handler_failed': disk full"}, 0)})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		if err := m.Download(ctx, "m", nil); err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "30.0%") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		foundry1xCLI(t, foundryCLICase{`"model download "*`, "printf '%s\\n' 'Total 5% x'\nexec sleep 30"})
		_, m, _ := foundry1xFake(t, dialect.FoundryOptions{})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		start := time.Now()
		err := m.Download(cctx, "m", func(p Progress) {
			if p.Percent == 5 {
				cancel()
			}
		})
		if err == nil || !strings.Contains(err.Error(), "interrupted at 5.0%") || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("cancellation took %v", d)
		}
	})
}

func TestFoundry1xMidRunUnload(t *testing.T) {
	d, m, base := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, LoadDelay: 5 * time.Millisecond})
	foundry1xSimCLI(t, d, base, dialect.FoundryCLIOptions{})
	ctx := context.Background()
	opts := LoadOptions{TTL: time.Hour}
	if _, err := m.Load(ctx, phiCPU, opts); err != nil {
		t.Fatal(err)
	}
	client := backend.New(base+"/v1", backend.Options{HTTPClient: m.hc})
	chat := func() record.Record {
		var rec record.Record
		client.Do(ctx, backend.Request{Model: phiCPU, Stream: true, MaxTokens: 4,
			Messages: []backend.Message{{Role: "user", Content: "hello"}}}, &rec)
		return rec
	}
	if re, took, err := m.EnsureLoaded(ctx, phiCPU, opts); err != nil || re || took != 0 {
		t.Fatalf("EnsureLoaded while loaded = %v, %v, %v", re, took, err)
	}
	if rec := chat(); rec.Outcome != record.OK {
		t.Fatalf("chat: %s %s", rec.Outcome, rec.Error)
	}
	// Someone unloads it mid-run: a chat now fails with 400 "Model not
	// loaded" (1.x never loads implicitly) ...
	if !d.Expire(phiCPU) {
		t.Fatal("Expire: not loaded")
	}
	if rec := chat(); rec.Outcome != record.HTTPError || rec.Status != 400 || !strings.Contains(rec.Error, "Model not loaded") {
		t.Fatalf("chat after the unload: %s %d %s", rec.Outcome, rec.Status, rec.Error)
	}
	// ... so the run's hook sees it missing from /models/loaded and loads it.
	re, took, err := m.EnsureLoaded(ctx, phiCPU, opts)
	if err != nil || !re || took < 5*time.Millisecond {
		t.Fatalf("EnsureLoaded after the unload = %v, %v, %v; want a reload taking at least the fake's 5 ms", re, took, err)
	}
	if rec := chat(); rec.Outcome != record.OK || rec.OutputTokens != 4 {
		t.Fatalf("chat after the reload: %s %s, %d tokens", rec.Outcome, rec.Error, rec.OutputTokens)
	}
	if st := d.Stats(); st.Loads != 2 || st.Expired != 1 || st.NotLoaded != 1 || st.Chats != 2 {
		t.Errorf("stats = %+v; want 2 loads, 1 expiry, 1 refused chat, 2 chats", st)
	}
	// An explicit unload by another client is caught the same way.
	if err := NewFoundry(m.Info(), nil).Unload(ctx, phiCPU); err != nil {
		t.Fatal(err)
	}
	if re, _, err := m.EnsureLoaded(ctx, phiCPU, opts); err != nil || !re {
		t.Errorf("after an explicit unload: %v, %v", re, err)
	}
	if st := d.Stats(); st.Loads != 3 || st.Unloads != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFoundry1xChatThroughBackend(t *testing.T) {
	foundryNoCLI(t)
	prof := sim.Profile{TTFT: 2 * time.Millisecond, DecodeTPS: 3000, TokensPerChunk: 2, Seed: 5}
	_, m, base := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, Profile: prof})
	ctx := context.Background()
	if _, err := m.Load(ctx, "phi-4-mini", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	req := backend.Request{Model: phiCPU, Stream: true, MaxTokens: 8, Messages: []backend.Message{{Role: "user", Content: "Say something."}}}
	var rec record.Record
	backend.New(base+"/v1", backend.Options{HTTPClient: m.hc}).Do(ctx, req, &rec)
	if rec.Outcome != record.OK {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	if rec.OutputSource != record.SourceUsage || rec.OutputTokens != 8 || rec.FinishReason != "length" || rec.ChunkCount != 4 {
		t.Errorf("record: %d tokens from %q, finish %q, %d chunks; want 8 from usage, length, 4 chunks (then [DONE])",
			rec.OutputTokens, rec.OutputSource, rec.FinishReason, rec.ChunkCount)
	}

	// A generation error mid-stream: the error frame, then EOF.
	_, m2, base2 := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, Profile: prof,
		FailStreamAfter: 2, FailStreamMessage: "OrtGenAI: out of memory"})
	if _, err := m2.Load(ctx, "phi-4-mini", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	rec = record.Record{}
	backend.New(base2+"/v1", backend.Options{HTTPClient: m2.hc}).Do(ctx, req, &rec)
	if rec.Outcome != record.StreamError || !strings.Contains(rec.Error, "OrtGenAI: out of memory") || rec.ChunkCount != 2 {
		t.Errorf("failed stream: %s %q after %d chunks; want a stream error with the engine's message after 2", rec.Outcome, rec.Error, rec.ChunkCount)
	}
}

// TestIdentifyFoundry1xByEndpoint checks that an endpoint given by URL alone
// is identified as Foundry Local 1.x from its web service's own GET /status
// (a real one has no /flperf/sim nor legacy /openai/status), and that a
// /status answering something else does not make an engine Foundry.
func TestIdentifyFoundry1xByEndpoint(t *testing.T) {
	serve := func(status string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/status":
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, status)
			case "/v1/models":
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"object":"list","data":[{"id":"qwen2.5-0.5b-instruct-generic-cpu:3","object":"model"}]}`)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(s.Close)
		return s.URL + "/v1"
	}
	var p Prober
	info, err := p.Identify(context.Background(), serve(`{"modelCachePath":"C:\\cache","endpoints":["http://127.0.0.1:5273"],"pid":42}`))
	if err != nil || info.Kind != Foundry || info.Simulated {
		t.Errorf("1.x service identified as %s (simulated %v), %v", info.Kind, info.Simulated, err)
	}
	info, err = p.Identify(context.Background(), serve(`{"status":"ok"}`))
	if err != nil || info.Kind == Foundry {
		t.Errorf("an unrelated /status made it %s (%v)", info.Kind, err)
	}
}
