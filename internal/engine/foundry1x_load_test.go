package engine

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"flperf/internal/sim/dialect"
)

// foundry1xSimCLI puts the simulated service's own fake foundry CLI
// (dialect WriteCLI: CLI 0.10+ answers, JSON unless o.NoJSON) first on
// PATH. base is the service's root URL.
func foundry1xSimCLI(t *testing.T, d *dialect.Foundry, base string, o dialect.FoundryCLIOptions) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the simulated foundry CLI is a shell script")
	}
	dir := t.TempDir()
	if _, err := d.WriteCLI(dir, base, o); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestFoundry1xLoadsTheSelectedVariant checks the public core's rule that
// an alias loads its selected variant (its first downloaded one): a
// variant id that is not the selected one cannot be loaded over HTTP, and
// LoadModel says which variant is loaded and why.
func TestFoundry1xLoadsTheSelectedVariant(t *testing.T) {
	d, m, base := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU, phiCUDA}})
	foundry1xSimCLI(t, d, base, dialect.FoundryCLIOptions{})
	ctx := context.Background()
	l, err := m.LoadModel(ctx, Model{ID: phiCPU, Alias: "phi-4-mini"}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := l.Model
	if got.ID != phiCUDA || got.Requested != phiCPU || got.Device != "GPU" || got.ExecutionProvider != "CUDAExecutionProvider" ||
		l.Via != "phi-4-mini" || !strings.Contains(got.Choice, "selected variant "+phiCUDA) || got.Loaded == nil || !*got.Loaded {
		t.Fatalf("LoadModel(%s) = %+v via %q; want the alias's selected variant %s, saying why", phiCPU, got, l.Via, phiCUDA)
	}
	if !slices.Equal(d.Loaded(), []string{phiCUDA}) {
		t.Errorf("service loaded %v", d.Loaded())
	}
	// A reload of the variant the run names cannot bring it back.
	if _, _, err := m.EnsureLoaded(ctx, phiCPU, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "loaded "+phiCUDA+" instead") {
		t.Errorf("EnsureLoaded(%s) = %v", phiCPU, err)
	}
	// Resolving the alias picks that same variant, so it loads as resolved.
	r, err := m.Resolve(ctx, "phi-4-mini", "")
	if err != nil || r.ID != phiCUDA || r.Requested != "phi-4-mini" || !strings.Contains(r.Choice, "downloaded variants first") {
		t.Fatalf("Resolve = %+v, %v", r, err)
	}
	if l, err := m.LoadModel(ctx, r, LoadOptions{}); err != nil || l.Model.ID != phiCUDA || l.Model.Requested != "phi-4-mini" || l.Took != 0 {
		t.Errorf("LoadModel(resolved) = %+v, %v; want %s, already loaded", l, err, phiCUDA)
	}
}

// TestFoundry1xLoadWithoutCLI checks that, without the CLI to name each
// variant's alias, the name the user typed serves as the alias, and that a
// variant id alone fails with an error saying what is missing.
func TestFoundry1xLoadWithoutCLI(t *testing.T) {
	foundryNoCLI(t)
	d, m, _ := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}})
	ctx := context.Background()
	if _, err := m.Load(ctx, phiCPU, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "not on PATH") ||
		!strings.Contains(err.Error(), `"`+phiCPU+`" nor "Phi-4-mini-instruct"`) {
		t.Errorf("load by id without the CLI: %v", err)
	}
	l, err := m.LoadModel(ctx, Model{ID: phiCPU, Requested: "phi-4-mini"}, LoadOptions{})
	if err != nil || l.Model.ID != phiCPU || l.Via != "phi-4-mini" || !slices.Equal(d.Loaded(), []string{phiCPU}) {
		t.Fatalf("LoadModel with the typed alias = %+v, %v; loaded %v", l, err, d.Loaded())
	}
}

func TestParseFoundryCLIJSON(t *testing.T) {
	row := func(id, alias, dev string, cached bool) string {
		c := "false"
		if cached {
			c = "true"
		}
		return `{"alias":"` + alias + `","id":"` + id + `","displayName":"x","type":"Chat","device":"` + dev +
			`","fileSizeMb":3809,"cached":` + c + `,"license":"MIT","supportsToolCalling":true}`
	}
	rows := row(phiCPU, "phi-4-mini", "Cpu", true) + "," + row(phiNPU, "phi-4-mini", "Npu", false)
	for name, out := range map[string]string{
		"variants key (0.11)": "■ Starting Foundry Local server\nCUDAExecutionProvider ━━━ 100%\n{\"variants\":[" + rows + "]}",
		"models key":          `{"models":[` + rows + `]}`,
		"bare array":          "[" + rows + "]\n",
		"nested variants":     `[{"alias":"phi-4-mini","variants":[` + rows + `]}]`,
	} {
		got, ok, isJSON := parseFoundryCLIJSON([]byte(out), false)
		if !isJSON || !ok || len(got) != 2 || got[0].ID != phiCPU || got[0].Alias != "phi-4-mini" || got[0].Device != "CPU" ||
			got[0].SizeMB != 3809 || got[0].Cached == nil || !*got[0].Cached || got[1].Device != "NPU" || *got[1].Cached {
			t.Errorf("%s: %+v ok=%v json=%v", name, got, ok, isJSON)
		}
	}
	// The cache listing: every row downloaded, an empty one is known empty.
	if got, ok, _ := parseFoundryCLIJSON([]byte(`[{"alias":"qwen2.5-0.5b","id":"`+qwenCPU10+`"}]`), true); !ok || len(got) != 1 || !*got[0].Cached {
		t.Errorf("cache list: %+v %v", got, ok)
	}
	if got, ok, isJSON := parseFoundryCLIJSON([]byte("[]"), true); !ok || !isJSON || len(got) != 0 {
		t.Errorf("empty cache: %+v %v", got, ok)
	}
	// A model listing that does not say what is downloaded is not enough.
	if _, ok, isJSON := parseFoundryCLIJSON([]byte(`{"models":[{"id":"a:1","alias":"a"}]}`), false); ok || !isJSON {
		t.Errorf("no cached field: ok=%v json=%v", ok, isJSON)
	}
	// A table is not JSON (a CLI without --output json): the text parsers take it.
	if _, _, isJSON := parseFoundryCLIJSON([]byte(foundryVariantsTable), false); isJSON {
		t.Error("a table read as JSON")
	}
}

func TestParseFoundryStatusJSON(t *testing.T) {
	for _, c := range []struct {
		out, origin string
		ok, isJSON  bool
	}{
		{`{"state":"Running","pid":4242,"webUrls":["http://127.0.0.1:51322"]}`, "http://127.0.0.1:51322", true, true},
		{"■ starting\n{\"State\":\"Ready\",\"Web URLs\":\"http://127.0.0.1:5273;http://localhost:5274\"}", "http://127.0.0.1:5273", true, true},
		{`{"state":"Running","endpoints":["http://10.0.0.5:5273"],"docs":"https://aka.ms/foundry"}`, "", false, true},
		{`{"state":"Stopped"}`, "", false, true},
		{"State      Running\nWeb URLs   http://127.0.0.1:5273", "", false, false},
	} {
		origin, ok, isJSON := ParseFoundryStatusJSON(c.out)
		if origin != c.origin || ok != c.ok || isJSON != c.isJSON {
			t.Errorf("ParseFoundryStatusJSON(%q) = %q %v %v; want %q %v %v", c.out, origin, ok, isJSON, c.origin, c.ok, c.isJSON)
		}
	}
}

// TestFoundry1xSimCLIAnswersJSON checks the simulated engine's fake CLI:
// with JSON, flperf learns the download state and sizes from it; a CLI
// without JSON output is read from its table instead.
func TestFoundry1xSimCLIAnswersJSON(t *testing.T) {
	ctx := context.Background()
	for _, noJSON := range []bool{false, true} {
		d, m, base := foundry1xFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}})
		foundry1xSimCLI(t, d, base, dialect.FoundryCLIOptions{NoJSON: noJSON})
		dl, err := m.Models(ctx, DownloadedSet)
		if err != nil || len(dl) != 1 || dl[0].ID != phiCPU || dl[0].Alias != "phi-4-mini" {
			t.Fatalf("noJSON=%v: downloaded = %+v, %v", noJSON, dl, err)
		}
		// Only the JSON rows carry sizes (the fake's table has none).
		if wantSize := map[bool]int64{false: 4800 << 20}[noJSON]; dl[0].SizeBytes != wantSize {
			t.Errorf("noJSON=%v: size %d, want %d", noJSON, dl[0].SizeBytes, wantSize)
		}
	}
	// Detection through `foundry server status --output json`.
	d, _, base := foundry1xFake(t, dialect.FoundryOptions{})
	foundry1xSimCLI(t, d, base, dialect.FoundryCLIOptions{})
	if base2, by, err := (&Prober{}).FoundryEndpoint(ctx); err != nil || base2 != base+"/v1" || by != "foundry server status" {
		t.Errorf("FoundryEndpoint = %q, %q, %v", base2, by, err)
	}
}

// TestFoundryLegacySDKResolution checks the legacy SDKs' two rules: on
// Windows a generic-GPU alias pick becomes the CPU variant when no device
// is named and the catalog has no CUDA variant; with CUDA variants in the
// catalog, generic-GPU variants load with ep=cuda (and are not swapped).
func TestFoundryLegacySDKResolution(t *testing.T) {
	entry := func(name, dev, ep string) dialect.FoundryEntry {
		return dialect.FoundryEntry{Name: name, Alias: "m", Version: "1", Task: "chat-completion",
			Runtime: &dialect.FoundryRuntime{DeviceType: dev, ExecutionProvider: ep}}
	}
	gpu, cuda, cpu := entry("m-generic-gpu:1", "GPU", "WebGpuExecutionProvider"), entry("m-cuda-gpu:1", "GPU", "CUDAExecutionProvider"),
		entry("m-generic-cpu:1", "CPU", "CPUExecutionProvider")
	ctx := context.Background()
	defer func(g string) { foundryGOOS = g }(foundryGOOS)
	for _, c := range []struct {
		goos, device string
		catalog      []dialect.FoundryEntry
		want, loadEP string
		why          string
	}{
		{"windows", "", []dialect.FoundryEntry{gpu, cpu}, "m-generic-cpu:1", "", "on Windows replace"},
		{"windows", "GPU", []dialect.FoundryEntry{gpu, cpu}, "m-generic-gpu:1", "", "on GPU"},
		{"linux", "", []dialect.FoundryEntry{gpu, cpu}, "m-generic-gpu:1", "", "first variant"},
		{"windows", "", []dialect.FoundryEntry{gpu, cuda, cpu}, "m-generic-gpu:1", "cuda", "ep=cuda"},
		{"linux", "", []dialect.FoundryEntry{cuda, gpu, cpu}, "m-cuda-gpu:1", "", "first variant"},
	} {
		foundryGOOS = c.goos
		d, m, _ := foundryFake(t, dialect.FoundryOptions{Catalog: c.catalog, Downloaded: []string{c.want}})
		got, err := m.Resolve(ctx, "m", c.device)
		if err != nil || got.ID != c.want || got.LoadEP != c.loadEP || got.Requested != "m" || !strings.Contains(got.Choice, c.why) {
			t.Errorf("%s %q: Resolve = %+v, %v; want %s (ep %q, why %q)", c.goos, c.device, got, err, c.want, c.loadEP, c.why)
			continue
		}
		if _, err := m.LoadModel(ctx, got, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		var ep []string
		for _, r := range d.Requests() {
			if strings.HasPrefix(r.Path, "/openai/load/") {
				ep = append(ep, r.Query.Get("ep"))
			}
		}
		if !slices.Equal(ep, []string{c.loadEP}) {
			t.Errorf("%s %q: load sent ep %q, want %q", c.goos, c.device, ep, c.loadEP)
		}
	}
}

// TestFoundryUnservedNote checks the diagnosis of an address the CLI
// reports but nothing serves: the address only, and Windows ARM64 named
// only there.
func TestFoundryUnservedNote(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	defer func(p string) { foundryPlatform = p }(foundryPlatform)
	p := Prober{Ports: []Port{}, Command: func(ctx context.Context, name string, args ...string) ([]byte, error) {
		if args[0] == "service" {
			return []byte("Unrecognized command or argument 'service'."), errors.New("exit status 1")
		}
		return []byte(`{"state":"Running","webUrls":["` + dead + `"]}`), nil
	}}
	for _, plat := range []string{"windows/arm64", "windows/amd64", "linux/amd64"} {
		foundryPlatform = plat
		d := p.Detect(context.Background())
		if d.Found || len(d.Notes) != 1 {
			t.Fatalf("%s: %+v", plat, d)
		}
		n := d.Notes[0]
		if !strings.Contains(n, "foundry server status reports "+dead+"/v1, but nothing accepts connections at "+ln.Addr().String()) ||
			strings.Contains(n, "flperf/sim") || strings.Contains(n, "Get ") || strings.Contains(n, "ARM64") != (plat == "windows/arm64") ||
			(plat != "windows/arm64" && !strings.Contains(n, "reports an address it does not serve")) {
			t.Errorf("%s: note %q", plat, n)
		}
		all := p.DetectAll(context.Background())
		if len(all) != 1 || strings.Contains(all[0].Note, "flperf/sim") || strings.Contains(all[0].Note, "ARM64") != (plat == "windows/arm64") {
			t.Errorf("%s: DetectAll note %+v", plat, all)
		}
	}
}
