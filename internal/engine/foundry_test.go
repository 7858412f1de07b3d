package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

var _ Manager = (*FoundryManager)(nil)

// foundryFake serves a simulated Foundry Local on 127.0.0.1 and returns it
// with a manager talking to it.
func foundryFake(t *testing.T, opts dialect.FoundryOptions) (*dialect.Foundry, *FoundryManager, string) {
	t.Helper()
	d, err := dialect.NewFoundry(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d)
	t.Cleanup(ts.Close)
	hc := ts.Client()
	t.Cleanup(hc.CloseIdleConnections)
	return d, NewFoundry(Info{Kind: Foundry, Endpoint: ts.URL + "/v1"}, hc), ts.URL
}

// foundryCat is the dialect's default catalog, by alias and device for
// readable tests.
var foundryCat = dialect.DefaultFoundryCatalog()

const (
	phiNPU     = "Phi-4-mini-instruct-qnn-npu:1"
	phiCUDA    = "Phi-4-mini-instruct-cuda-gpu:1"
	phiGPU2    = "Phi-4-mini-instruct-generic-gpu:2"
	phiCPU     = "Phi-4-mini-instruct-generic-cpu:1"
	qwenNPU    = "qwen2.5-0.5b-instruct-openvino-npu:1"
	qwenCPU9   = "qwen2.5-0.5b-instruct-generic-cpu:9"
	qwenCPU10  = "qwen2.5-0.5b-instruct-generic-cpu:10"
	mistralGPU = "mistralai-Mistral-7B-Instruct-v0-2-generic-gpu"
	mistralCPU = "mistralai-Mistral-7B-Instruct-v0-2-generic-cpu"
	sparseID   = "deepseek-r1-distill-qwen-1.5b-generic-cpu:1"
)

func TestFoundryCapabilities(t *testing.T) {
	m := NewFoundry(Info{Kind: Foundry, Endpoint: "http://127.0.0.1:1/v1"}, nil)
	want := Capabilities{Catalog: true, Downloaded: true, Loaded: true, Download: true, Load: true, Unload: true}
	if m.Capabilities() != want || m.Info().Endpoint != "http://127.0.0.1:1/v1" {
		t.Fatalf("Capabilities = %+v, Info = %+v", m.Capabilities(), m.Info())
	}
}

func TestFoundryCatalogModels(t *testing.T) {
	d, m, _ := foundryFake(t, dialect.FoundryOptions{
		Downloaded: []string{phiCUDA, mistralCPU, qwenCPU10},
		BareIDs:    true, // the lists say "…-cuda-gpu", the catalog "…-cuda-gpu:1"
		RawCatalogEntries: []json.RawMessage{
			json.RawMessage(`{"alias":"nameless","runtime":{"deviceType":"GPU"}}`),
			json.RawMessage(`42`),
			json.RawMessage(`{"name":"odd-model:1","alias":"odd","version":3,"fileSizeMb":"12.6","runtime":"GPU","promptTemplate":null,"extra":{"x":[1]}}`),
			json.RawMessage(`{"NAME":"Upper-Keys:1","ALIAS":"upper","RUNTIME":{"DEVICETYPE":"NPU","executionprovider":"QNNExecutionProvider"},"FILESIZEMB":1}`),
		},
	})
	var notes []string
	m.Note = func(s string) { notes = append(notes, s) }
	ctx := context.Background()
	if _, err := m.Load(ctx, phiCUDA, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	models, err := m.Models(ctx, CatalogSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != len(foundryCat)+2 {
		t.Fatalf("%d models, want %d (the catalog plus two usable raw entries)", len(models), len(foundryCat)+2)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "no name") || !strings.Contains(notes[0], "nameless") || !strings.Contains(notes[1], "not an object") {
		t.Errorf("notes = %q", notes)
	}
	by := map[string]Model{}
	for i, mo := range models {
		if i < len(foundryCat) && mo.ID != foundryCat[i].Name {
			t.Errorf("model %d = %s, want %s: the service's order is kept", i, mo.ID, foundryCat[i].Name)
		}
		by[mo.ID] = mo
	}
	phi := 0
	for _, mo := range models {
		if mo.Alias == "phi-4-mini" {
			phi++
		}
	}
	if phi != 5 || len(by) != len(models) {
		t.Errorf("phi-4-mini has %d separate variants (want 5); %d distinct ids of %d", phi, len(by), len(models))
	}
	check := func(id, device, ep string, size int64, downloaded, loaded bool) {
		t.Helper()
		mo, ok := by[id]
		if !ok {
			t.Errorf("%s missing", id)
			return
		}
		if mo.Device != device || mo.ExecutionProvider != ep || mo.SizeBytes != size {
			t.Errorf("%s: device %q, EP %q, size %d; want %q, %q, %d", id, mo.Device, mo.ExecutionProvider, mo.SizeBytes, device, ep, size)
		}
		if mo.Downloaded == nil || *mo.Downloaded != downloaded || mo.Loaded == nil || *mo.Loaded != loaded {
			t.Errorf("%s: downloaded %v, loaded %v; want %v, %v", id, foundryPtr(mo.Downloaded), foundryPtr(mo.Loaded), downloaded, loaded)
		}
	}
	check(phiCUDA, "GPU", "CUDAExecutionProvider", 3720<<20, true, true)
	check(phiGPU2, "GPU", "WebGpuExecutionProvider", 3720<<20, false, false)
	check(phiNPU, "NPU", "QNNExecutionProvider", 2570<<20, false, false)
	check(mistralCPU, "CPU", "CPUExecutionProvider", 4070<<20, true, false)
	// Listed as "qwen…-generic-cpu" (no version): every version matches.
	check(qwenCPU10, "CPU", "CPUExecutionProvider", 822<<20, true, false)
	check(sparseID, "", "", 0, false, false)
	check("odd-model:1", "", "", 13<<20, false, false)
	check("Upper-Keys:1", "NPU", "QNNExecutionProvider", 1<<20, false, false)

	dl, err := m.Models(ctx, DownloadedSet)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mo := range dl {
		got = append(got, fmt.Sprintf("%s %v %v", mo.ID, foundryPtr(mo.Downloaded), foundryPtr(mo.Loaded)))
	}
	want := []string{"Phi-4-mini-instruct-cuda-gpu true true", "qwen2.5-0.5b-instruct-generic-cpu true false", mistralCPU + " true false"}
	if !slices.Equal(got, want) {
		t.Errorf("downloaded = %q, want %q", got, want)
	}
	ld, err := m.Models(ctx, LoadedSet)
	if err != nil || len(ld) != 1 || ld[0].ID != "Phi-4-mini-instruct-cuda-gpu" || !*ld[0].Loaded {
		t.Errorf("loaded = %+v, %v", ld, err)
	}
	if _, err := m.Models(ctx, "everything"); err == nil {
		t.Error("unknown set accepted")
	}
	if len(d.Requests()) == 0 {
		t.Error("the fake saw no requests")
	}
}

func foundryPtr(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

func TestFoundryModelsObjectAndCatalogFailure(t *testing.T) {
	_, m, _ := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, ModelsObject: true})
	dl, err := m.Models(context.Background(), DownloadedSet)
	if err != nil || len(dl) != 1 || dl[0].ID != phiCPU {
		t.Errorf(`{"models":[…]} = %+v, %v`, dl, err)
	}
	_, m, _ = foundryFake(t, dialect.FoundryOptions{CatalogError: "No models were returned from the Azure Foundry catalog"})
	if _, err := m.Models(context.Background(), CatalogSet); err == nil || !strings.Contains(err.Error(), "No models were returned") {
		t.Errorf("catalog failure = %v", err)
	}
}

func TestFoundryParseIDs(t *testing.T) {
	for body, want := range map[string][]string{
		`["a:1","B"]`:      {"a:1", "B"},
		`{"models":["a"]}`: {"a"},
		`{"Models":[{"name":"x"},{"id":"y"},7,null," "]}`: {"x", "y"},
		`[]`: {},
	} {
		got, err := foundryParseIDs([]byte(body))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("foundryParseIDs(%s) = %q, %v; want %q", body, got, err, want)
		}
	}
	for _, bad := range []string{`"a"`, `{`, `42`} {
		if _, err := foundryParseIDs([]byte(bad)); err == nil {
			t.Errorf("foundryParseIDs(%s) accepted", bad)
		}
	}
}

func TestFoundrySameID(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Phi-4:1", "phi-4:1", true},
		{"phi-4", "Phi-4:2", true},
		{"Phi-4:2", "phi-4", true},
		{"phi-4:1", "phi-4:2", false},
		{"phi-4", "phi-4-mini", false},
		{"phi-4", "phi-4-mini:1", false},
	} {
		if got := foundrySameID(c.a, c.b); got != c.want {
			t.Errorf("foundrySameID(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestFoundryResolve(t *testing.T) {
	_, m, _ := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCUDA}})
	ctx := context.Background()
	for _, c := range []struct {
		key, device, want, ep string
	}{
		{"phi-4-mini-instruct-cuda-gpu:1", "", phiCUDA, "CUDAExecutionProvider"},     // exact id, any case
		{"qwen2.5-0.5b-instruct-generic-cpu", "", qwenCPU10, "CPUExecutionProvider"}, // highest integer version: 10 > 9 > 2
		{"phi-4-mini-instruct-GENERIC-gpu", "", phiGPU2, "CUDAExecutionProvider"},    // loaded with ep=cuda: the catalog has CUDA variants
		{"phi-4-mini", "", phiNPU, "QNNExecutionProvider"},                           // first in service order
		{"phi-4-mini", "gpu", phiCUDA, "CUDAExecutionProvider"},                      // first GPU in service order
		{"PHI-4-MINI", "CPU", phiCPU, "CPUExecutionProvider"},
		{"qwen2.5-0.5b", "", qwenNPU, "OpenVINOExecutionProvider"},
		{"qwen2.5-0.5b", "cpu", qwenCPU9, "CPUExecutionProvider"}, // service order, not the highest version
		{"mistral-7b-v0.2", "", mistralGPU, "CUDAExecutionProvider"},
		{"mistralai-mistral-7b-instruct-v0-2-generic-cpu", "", mistralCPU, "CPUExecutionProvider"},
		{"deepseek-r1-1.5b", "", sparseID, ""},
		{" phi-4-mini ", " npu ", phiNPU, "QNNExecutionProvider"},
	} {
		got, err := m.Resolve(ctx, c.key, c.device)
		if err != nil || got.ID != c.want || got.ExecutionProvider != c.ep {
			t.Errorf("Resolve(%q, %q) = %s (%s), %v; want %s (%s)", c.key, c.device, got.ID, got.ExecutionProvider, err, c.want, c.ep)
		}
		if err == nil && (got.Downloaded == nil || *got.Downloaded != (c.want == phiCUDA)) {
			t.Errorf("Resolve(%q): Downloaded = %v", c.key, foundryPtr(got.Downloaded))
		}
		if wantEP := map[bool]string{true: "cuda"}[strings.Contains(c.want, "generic-gpu")]; err == nil && got.LoadEP != wantEP {
			t.Errorf("Resolve(%q): LoadEP = %q, want %q", c.key, got.LoadEP, wantEP)
		}
	}
	for _, c := range []struct {
		key, device string
		wants       []string
	}{
		{"llama-3", "", []string{`"llama-3"`, "phi-4-mini, qwen2.5-0.5b, mistral-7b-v0.2, deepseek-r1-1.5b"}},
		{"mistral-7b-v0.2", "npu", []string{"no NPU variant", mistralGPU + " (GPU)", mistralCPU + " (CPU)"}},
		{phiCUDA, "NPU", []string{"runs on GPU, not NPU", phiNPU + " (NPU)"}},
		{"", "", []string{"no model named", "phi-4-mini"}},
	} {
		_, err := m.Resolve(ctx, c.key, c.device)
		for _, w := range c.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%q, %q) error = %v; want it to mention %q", c.key, c.device, err, w)
			}
		}
	}
}

func TestFoundryResolveKeepsServiceOrder(t *testing.T) {
	// A catalog that lists CPU first: the client does not re-sort.
	entries := []FoundryEntry{
		{Name: "m-generic-cpu:1", Alias: "m", Device: "CPU"},
		{Name: "m-cuda-gpu:1", Alias: "m", Device: "GPU"},
		{Name: "m-cuda-gpu:beta", Alias: "m", Device: "GPU"},
	}
	if e, err := foundryResolve(entries, "m", ""); err != nil || e.Name != "m-generic-cpu:1" {
		t.Errorf("alias = %s, %v", e.Name, err)
	}
	if e, err := foundryResolve(entries, "m-cuda-gpu", ""); err != nil || e.Name != "m-cuda-gpu:1" {
		t.Errorf("integer version over a non-integer one = %s, %v", e.Name, err)
	}
	if _, err := foundryResolve(nil, "m", ""); err == nil || !strings.Contains(err.Error(), "catalog is empty") {
		t.Errorf("empty catalog: %v", err)
	}
}

// foundryProgressLog collects progress reports.
type foundryProgressLog struct {
	mu  sync.Mutex
	all []Progress
}

func (l *foundryProgressLog) add(p Progress) { l.mu.Lock(); l.all = append(l.all, p); l.mu.Unlock() }

// check asserts non-decreasing percentages within [-1, 100], exactly one
// Done report, last, and returns the percentages seen.
func (l *foundryProgressLog) check(t *testing.T) []float64 {
	t.Helper()
	var pcts []float64
	prev := -1.0
	for i, p := range l.all {
		if p.Percent < prev || p.Percent > 100 || p.Percent < -1 {
			t.Errorf("report %d: percent %v after %v", i, p.Percent, prev)
		}
		prev = p.Percent
		if p.Done != (i == len(l.all)-1) {
			t.Errorf("report %d of %d: Done = %v", i, len(l.all), p.Done)
		}
		if len(pcts) == 0 || pcts[len(pcts)-1] != p.Percent {
			pcts = append(pcts, p.Percent)
		}
	}
	return pcts
}

func TestFoundryDownloadProgress(t *testing.T) {
	for _, format := range []string{dialect.FoundryProgressPercent, dialect.FoundryProgressTuple} {
		t.Run(format, func(t *testing.T) {
			d, m, _ := foundryFake(t, dialect.FoundryOptions{ProgressFormat: format, DownloadSteps: 4})
			var log foundryProgressLog
			if err := m.Download(context.Background(), phiGPU2, log.add); err != nil {
				t.Fatal(err)
			}
			pcts := log.check(t)
			if !slices.Equal(pcts, []float64{0, 25, 50, 75, 100}) {
				t.Errorf("percentages = %v, want 0 25 50 75 100", pcts)
			}
			last := log.all[len(log.all)-1]
			if !last.Done || last.Percent != 100 || last.Err != "" {
				t.Errorf("last report = %+v", last)
			}
			if !slices.Contains(d.Cached(), phiGPU2) {
				t.Errorf("cached = %v", d.Cached())
			}
			// The body: the SDK shape, built from the catalog entry.
			var body struct {
				Model struct {
					Name, Uri, Publisher, ProviderType string
					PromptTemplate                     map[string]string
				}
				Token            *string
				IgnorePipeReport bool
			}
			var raw string
			for _, r := range d.Requests() {
				if r.Path == "/openai/download" {
					raw = r.Body
				}
			}
			if err := json.Unmarshal([]byte(raw), &body); err != nil {
				t.Fatalf("download body %q: %v", raw, err)
			}
			e := foundryCat[2]
			if body.Model.Name != e.Name || body.Model.Uri != e.URI || body.Model.Publisher != "Microsoft" ||
				body.Model.ProviderType != "AzureFoundryLocal" || body.Model.PromptTemplate["prompt"] != e.PromptTemplate.Prompt ||
				body.Token == nil || !body.IgnorePipeReport {
				t.Errorf("download body = %s", raw)
			}
		})
	}
}

func TestFoundryDownloadByAliasAndSparse(t *testing.T) {
	d, m, _ := foundryFake(t, dialect.FoundryOptions{DownloadSteps: 1})
	if err := m.Download(context.Background(), "qwen2.5-0.5b", nil); err != nil {
		t.Fatal(err)
	}
	// The sparse entry has no publisher or template: the body still goes.
	if err := m.Download(context.Background(), sparseID, nil); err != nil {
		t.Fatal(err)
	}
	if got := d.Cached(); !slices.Equal(got, []string{qwenNPU, sparseID}) {
		t.Errorf("cached = %v", got)
	}
}

func TestFoundryDownloadFails(t *testing.T) {
	for _, format := range []string{dialect.FoundryProgressPercent, dialect.FoundryProgressTuple} {
		t.Run(format, func(t *testing.T) {
			d, m, _ := foundryFake(t, dialect.FoundryOptions{ProgressFormat: format, DownloadSteps: 4, FailDownloadAt: 50,
				FailMessage: "Failed to download: disk full (0x80070070)"})
			var log foundryProgressLog
			err := m.Download(context.Background(), phiCPU, log.add)
			if err == nil || !strings.Contains(err.Error(), "disk full (0x80070070)") || !strings.Contains(err.Error(), phiCPU) ||
				!strings.Contains(err.Error(), "25.0%") {
				t.Fatalf("err = %v; want the engine's message, the model and the progress reached", err)
			}
			pcts := log.check(t)
			if !slices.Equal(pcts, []float64{0, 25}) {
				t.Errorf("percentages = %v", pcts)
			}
			if last := log.all[len(log.all)-1]; !last.Done || !strings.Contains(last.Err, "disk full") {
				t.Errorf("last report = %+v", last)
			}
			if len(d.Cached()) != 0 {
				t.Errorf("cached after a failure: %v", d.Cached())
			}
		})
	}
	_, m, _ := foundryFake(t, dialect.FoundryOptions{DownloadSteps: 2, NoDownloadResult: true})
	var log foundryProgressLog
	err := m.Download(context.Background(), phiCPU, log.add)
	if err == nil || !strings.Contains(err.Error(), "download ended without a result") || !strings.Contains(err.Error(), "100.0%") {
		t.Fatalf("err = %v", err)
	}
	if last := log.all[len(log.all)-1]; !last.Done || last.Err == "" {
		t.Errorf("last report = %+v", last)
	}
	_, m, _ = foundryFake(t, dialect.FoundryOptions{})
	if err := m.Download(context.Background(), "no-such-model", nil); err == nil || !strings.Contains(err.Error(), "phi-4-mini") {
		t.Errorf("unknown model: %v", err)
	}
}

func TestFoundryDownloadAlreadyCached(t *testing.T) {
	d, m, _ := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, BareIDs: true})
	var log foundryProgressLog
	if err := m.Download(context.Background(), phiCPU, log.add); err != nil {
		t.Fatal(err)
	}
	if len(log.all) != 1 || !log.all[0].Done || log.all[0].Percent != 100 {
		t.Errorf("reports = %+v, want one Done at 100", log.all)
	}
	for _, r := range d.Requests() {
		if r.Path == "/openai/download" || r.Path == "/foundry/list" {
			t.Errorf("%s requested for a cached model", r.Path)
		}
	}
}

// TestFoundryDownloadStreamsProgress: the server holds the rest of the
// body until the client has reported the first line, so a client that
// buffered the body would never see it.
func TestFoundryDownloadStreamsProgress(t *testing.T) {
	seen := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openai/models", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[]`)) })
	mux.HandleFunc("GET /foundry/list", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"name":"m:1","alias":"m","uri":"u"}]`))
	})
	mux.HandleFunc("POST /openai/download", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Total 10.00% Downloading model.onnx\n"))
		http.NewResponseController(w).Flush()
		select {
		case <-seen:
			w.Write([]byte("Total 100.00% Downloading model.onnx\r\n[DONE] All Completed!\r\n{\"success\": true,\r\n \"errorMessage\": null}"))
		case <-time.After(20 * time.Second):
			w.Write([]byte(`{"success": false, "errorMessage": "the client did not report the first line while it was streamed"}`))
		case <-r.Context().Done():
		}
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	m := NewFoundry(Info{Endpoint: ts.URL + "/v1"}, &http.Client{Timeout: time.Nanosecond}) // the Timeout must not apply
	m.hc = ts.Client()                                                                      // catalog and lists through the test client
	var log foundryProgressLog
	err := m.Download(context.Background(), "m", func(p Progress) {
		log.add(p)
		if p.Percent == 10 {
			once.Do(func() { close(seen) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if pcts := log.check(t); !slices.Equal(pcts, []float64{10, 100}) {
		t.Errorf("percentages = %v", pcts)
	}
}

func TestFoundryProgressParser(t *testing.T) {
	for _, c := range []struct {
		name, body string
		pcts       []float64 // distinct percentages reported, in order
		ok         bool      // a result saying success
		noResult   bool
		errHas     string
	}{
		{"percent", "Total 0.00% a\nTotal 52.10% b\n[DONE] All Completed!\n{\"success\": true, \"errorMessage\": null}\n", []float64{-1, 0, 52.1}, true, false, ""},
		{"carriage returns", "Total 5% a\rTotal 7.5% a\r\n{\"Success\":true}", []float64{-1, 5, 7.5}, true, false, ""},
		{"decrease ignored, clamp", "Total 40% x\nTotal 30% y\nTotal 250% z\n{\"success\":true}", []float64{-1, 40, 100}, true, false, ""},
		{"tuple", "(\"tokenizer.json\", 0.1)\n('model.onnx.data', 0.41)\n(\"x\", 1e-1)\n{\n \"Success\": true,\n \"ErrorMessage\": null\n}\n", []float64{-1, 10, 41}, true, false, ""},
		{"tuple over one is a percentage", "(\"m\", 42.5)\n{\"success\":true}", []float64{-1, 42.5}, true, false, ""},
		{"done and json on one line", "Total 99% m\n[DONE] {\"success\":true,\"errorMessage\":null}", []float64{-1, 99}, true, false, ""},
		{"json then trailing text", "{\"success\":true} and more\n", nil, true, false, ""},
		{"failure", "Total 10% m\n{\"success\":false,\"errorMessage\":\"boom\"}", []float64{-1, 10}, false, false, ""},
		{"no result", "Total 10% m\n[DONE] All Completed!\n", []float64{-1, 10}, false, true, ""},
		{"empty body", "", nil, false, true, ""},
		{"bad result", "Total 10% m\n{\"success\":", []float64{-1, 10}, false, false, "unreadable final result"},
		{"wrong type", "{\"success\":\"yes\"}", nil, false, false, "unreadable final result"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log foundryProgressLog
			p := foundryProgressParser{pct: -1, report: log.add}
			res, err := p.read(strings.NewReader(c.body))
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (res == nil) != c.noResult {
				t.Fatalf("result = %+v", res)
			}
			if res != nil && (res.Success != nil && *res.Success) != c.ok {
				t.Errorf("success = %v, want %v", foundryPtr(res.Success), c.ok)
			}
			pcts := []float64{-1}
			for _, r := range log.all {
				if r.Percent != pcts[len(pcts)-1] {
					pcts = append(pcts, r.Percent)
				}
			}
			if c.pcts != nil && !slices.Equal(pcts, c.pcts) {
				t.Errorf("percentages = %v, want %v", pcts, c.pcts)
			}
		})
	}
}

func FuzzFoundryProgress(f *testing.F) {
	f.Add("Total 0.00% a\nTotal 52.10% b\n[DONE] All Completed!\n{\"success\": true}")
	f.Add("(\"m\", 0.41)\r{\"Success\":false,\"ErrorMessage\":\"x\"}")
	f.Fuzz(func(t *testing.T, body string) {
		prev := -1.0
		p := foundryProgressParser{pct: -1, report: func(pr Progress) {
			if pr.Percent < prev || pr.Percent > 100 {
				t.Fatalf("percent %v after %v", pr.Percent, prev)
			}
			prev = pr.Percent
		}}
		p.read(strings.NewReader(body))
	})
}

func FuzzFoundryCatalog(f *testing.F) {
	f.Add(`[{"name":"a:1","alias":"a","runtime":{"deviceType":"GPU"},"fileSizeMb":1}]`)
	f.Add(`[{"alias":"x"},42,null,{"name":7,"runtime":[],"fileSizeMb":"1e400"}]`)
	f.Fuzz(func(t *testing.T, body string) {
		entries, _, err := foundryParseCatalog([]byte(body))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Name == "" || e.FileSizeMB < 0 {
				t.Fatalf("entry %+v", e)
			}
		}
		if len(entries) > 0 {
			foundryResolve(entries, entries[0].Alias, entries[0].Device)
		}
	})
}

func TestFoundryLoadQueryAndUnload(t *testing.T) {
	d, m, _ := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCUDA, phiCPU}, LoadDelay: 30 * time.Millisecond})
	ctx := context.Background()
	lastLoad := func() foundryLoadView {
		t.Helper()
		var v foundryLoadView
		for _, r := range d.Requests() {
			if strings.HasPrefix(r.Path, "/openai/load/") {
				v = foundryLoadView{ID: r.ID, Query: r.Query.Encode()}
			}
		}
		return v
	}
	took, err := m.Load(ctx, phiCUDA, LoadOptions{TTL: 45 * time.Second, ExecutionProvider: "CUDAExecutionProvider"})
	if err != nil {
		t.Fatal(err)
	}
	if took < 30*time.Millisecond {
		t.Errorf("load took %v, less than the fake's 30 ms load", took)
	}
	if v := lastLoad(); v.ID != phiCUDA || v.Query != "ep=cuda&ttl=45" {
		t.Errorf("load request = %+v, want ep=cuda&ttl=45", v)
	}
	for _, c := range []struct {
		opts LoadOptions
		want string
	}{
		{LoadOptions{TTL: 1500 * time.Millisecond}, "ttl=2"},
		{LoadOptions{TTL: -1}, "unload=false"},
		{LoadOptions{ExecutionProvider: "cpu"}, "ep=cpu"},
		{LoadOptions{}, ""},
	} {
		if _, err := m.Load(ctx, phiCPU, c.opts); err != nil {
			t.Fatal(err)
		}
		if v := lastLoad(); v.Query != c.want {
			t.Errorf("Load(%+v) sent %q, want %q", c.opts, v.Query, c.want)
		}
	}
	if got := d.Loaded(); !slices.Equal(got, []string{phiCUDA, phiCPU}) {
		t.Fatalf("loaded = %v", got)
	}

	// The id is escaped: "?" and "#" reach the service as part of it, and
	// its error body is quoted.
	_, err = m.Load(ctx, "bad?id#x", LoadOptions{TTL: time.Minute})
	if v := lastLoad(); v.ID != "bad?id#x" || v.Query != "ttl=60" {
		t.Errorf("escaped load = %+v", v)
	}
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "not found in the catalog") {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := m.Load(ctx, phiNPU, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "not downloaded") {
		t.Errorf("model not downloaded: %v", err)
	}

	if err := m.Unload(ctx, strings.ToLower(phiCUDA)); err != nil {
		t.Fatal(err)
	}
	if got := d.Loaded(); !slices.Equal(got, []string{phiCPU}) {
		t.Errorf("loaded after unload = %v", got)
	}
	var unloads []string
	for _, r := range d.Requests() {
		if strings.HasPrefix(r.Path, "/openai/unload/") {
			unloads = append(unloads, r.ID+"?"+r.Query.Encode())
		}
	}
	if !slices.Equal(unloads, []string{phiCUDA + "?force=true"}) {
		t.Errorf("unload requests = %q", unloads)
	}
	// Not loaded: nothing to do, no error, no request.
	if err := m.Unload(ctx, phiCUDA); err != nil {
		t.Errorf("unload of an unloaded model: %v", err)
	}
	if n := d.Stats().Unloads; n != 1 {
		t.Errorf("unloads = %d", n)
	}
}

// foundryLoadView is what a load test compares of a load request.
type foundryLoadView struct{ ID, Query string }

// foundryClock is a clock the test moves by hand.
type foundryClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *foundryClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *foundryClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFoundryTTLUnloadMidRun(t *testing.T) {
	clock := &foundryClock{t: time.Unix(1_700_000_000, 0)}
	d, m, base := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, Now: clock.Now, LoadDelay: 5 * time.Millisecond})
	ctx := context.Background()
	opts := LoadOptions{TTL: 30 * time.Second}
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
	for i := range 3 {
		re, took, err := m.EnsureLoaded(ctx, phiCPU, opts)
		if err != nil || re || took != 0 {
			t.Fatalf("request %d: EnsureLoaded = %v, %v, %v; want no reload", i, re, took, err)
		}
		if rec := chat(); rec.Outcome != record.OK {
			t.Fatalf("request %d: %s %s", i, rec.Outcome, rec.Error)
		}
		clock.Add(10 * time.Second) // 0, 10, 20 s: within the TTL
	}
	clock.Add(time.Second) // 31 s after the load: expired
	re, took, err := m.EnsureLoaded(ctx, phiCPU, opts)
	if err != nil || !re || took < 5*time.Millisecond {
		t.Fatalf("after the TTL: EnsureLoaded = %v, %v, %v; want a reload taking at least the fake's 5 ms", re, took, err)
	}
	if rec := chat(); rec.Outcome != record.OK || rec.OutputTokens != 4 {
		t.Fatalf("chat after the reload: %s %s, %d tokens", rec.Outcome, rec.Error, rec.OutputTokens)
	}
	st := d.Stats()
	if st.Loads != 2 || st.Expired != 1 || st.ImplicitLoads != 0 || st.Chats != 4 {
		t.Errorf("stats = %+v; want 2 loads, 1 expiry, no implicit load, 4 chats", st)
	}
	// Expire works the same.
	if !d.Expire(phiCPU) {
		t.Fatal("Expire: not loaded")
	}
	if re, _, err := m.EnsureLoaded(ctx, phiCPU, opts); err != nil || !re {
		t.Errorf("after Expire: %v, %v", re, err)
	}
}

func TestFoundryStreamingQuirksThroughBackend(t *testing.T) {
	prof := sim.Profile{TTFT: 5 * time.Millisecond, DecodeTPS: 2000, TokensPerChunk: 2, Seed: 7}
	_, m, base := foundryFake(t, dialect.FoundryOptions{Downloaded: []string{phiCPU}, Profile: prof})
	req := backend.Request{Model: phiCPU, Stream: true, MaxTokens: 8, Messages: []backend.Message{{Role: "user", Content: "Say something."}}}
	var rec record.Record
	backend.New(base+"/v1", backend.Options{HTTPClient: m.hc}).Do(context.Background(), req, &rec)
	if rec.Outcome != record.OK {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	if rec.OutputSource != record.SourceEstimate || rec.OutputTokens != 8 {
		t.Errorf("output = %d from %q; want 8 estimated (no usage from legacy Foundry)", rec.OutputTokens, rec.OutputSource)
	}
	if rec.FinishReason != "" {
		t.Errorf("finish reason = %q, want none", rec.FinishReason)
	}
	if ttft, ok := rec.TTFT(); !ok || ttft <= 0 || rec.ChunkCount != 4 {
		t.Errorf("TTFT %v %v, %d chunks; want a TTFT and 4 chunks of 2 tokens", ttft, ok, rec.ChunkCount)
	}

	// The same profile served plainly gives the same first answer: the
	// rewriting neither lost nor duplicated text (message beside delta).
	ref := prof
	ref.Name, ref.Slots, ref.DefaultMaxTokens = phiCPU, 1, 512
	srv, err := sim.New(ref)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	var want record.Record
	backend.New(ts.URL+"/v1", backend.Options{HTTPClient: ts.Client()}).Do(context.Background(), req, &want)
	if want.Outcome != record.OK || rec.Text != want.Text || rec.Text == "" {
		t.Errorf("text = %q, want %q (%s)", rec.Text, want.Text, want.Outcome)
	}
}

// foundryScript writes an executable `foundry` that prints outputs by
// "service status" / "server status" and puts its directory first on PATH.
func foundryScript(t *testing.T, service, server string, serviceFails bool) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts as a fake foundry CLI need a Unix shell")
	}
	dir := t.TempDir()
	svcExit := 0
	if serviceFails {
		svcExit = 1
	}
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1 $2" = "service status" ]; then
cat <<'EOF'
%s
EOF
exit %d
fi
if [ "$1 $2" = "server status" ]; then
cat <<'EOF'
%s
EOF
exit 0
fi
echo "unexpected arguments: $*" >&2
exit 2
`, service, svcExit, server)
	if err := os.WriteFile(filepath.Join(dir, "foundry"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// foundryDisguised serves the dialect without /flperf/sim, as a real
// Foundry Local would answer: the simulator's marker is what Identify
// checks first, and it rightly wins when present.
func foundryDisguised(t *testing.T) string {
	t.Helper()
	d, err := dialect.NewFoundry(dialect.FoundryOptions{})
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
	return ts.URL
}

func TestDetectFoundryCLIGenerations(t *testing.T) {
	base := foundryDisguised(t)
	for _, c := range []struct {
		name, service, server string
		serviceFails          bool
		by                    string
	}{
		{"legacy", "🟢 Model management service is running on " + base + "/openai/status", "", false, "foundry service status"},
		{"0.10+", "Unrecognized command or argument 'service'.\nDescription:\n  Foundry Local CLI",
			"State      Running\nPID        4242\nStarted    2026-03-01 10:00:00\nUptime     00:12:03\nWeb URLs   " + base, true, "foundry server status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			foundryScript(t, c.service, c.server, c.serviceFails)
			p := Prober{Ports: []Port{}} // Command nil: the real exec path
			d := p.Detect(context.Background())
			if !d.Found || d.Info.Kind != Foundry || d.Info.Endpoint != base+"/v1" || d.Info.DetectedBy != c.by || d.Info.Simulated {
				t.Fatalf("Detect = %+v", d)
			}
		})
	}
}

func TestDetectFoundryCLIRefusingEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	foundryScript(t, "🟢 Model management service is running on "+dead+"/openai/status", "", false)
	d := (&Prober{Ports: []Port{}}).Detect(context.Background())
	if d.Found {
		t.Fatalf("found %+v on a closed port", d.Info)
	}
	addr := strings.TrimPrefix(dead, "http://")
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "nothing accepts connections at "+addr) ||
		strings.Contains(d.Notes[0], "/flperf/sim") || strings.Contains(d.Notes[0], "ARM64") != (foundryPlatform == "windows/arm64") {
		t.Fatalf("notes = %q", d.Notes)
	}
}

func TestDetectFoundryDialectIsSimulated(t *testing.T) {
	_, _, base := foundryFake(t, dialect.FoundryOptions{})
	foundryScript(t, "🟢 Model management service is running on "+base+"/openai/status", "", false)
	d := (&Prober{Ports: []Port{}}).Detect(context.Background())
	// Managed as Foundry Local (its management API is Foundry's), but always
	// labelled simulated: it must never pass for a real Foundry Local.
	if !d.Found || d.Info.Kind != Foundry || !d.Info.Simulated || d.Info.DetectedBy != "foundry service status" ||
		!strings.Contains(d.Info.Label(), "SIMULATED") {
		t.Fatalf("Detect = %+v (label %q)", d, d.Info.Label())
	}
}
