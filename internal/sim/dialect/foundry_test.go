package dialect

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/sim"
)

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

// foundryStart serves a dialect on an httptest server (127.0.0.1).
func foundryStart(t *testing.T, opts FoundryOptions) (*Foundry, string, *http.Client) {
	t.Helper()
	f, err := NewFoundry(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c := ts.Client()
	t.Cleanup(c.CloseIdleConnections)
	return f, ts.URL, c
}

// get returns the status and body of GET url.
func foundryGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(sim.EngineHeader) != "simulated" {
		t.Errorf("GET %s: no %s: simulated header", url, sim.EngineHeader)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func foundryPost(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func foundryIDs(t *testing.T, body string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not a JSON array of ids: %q", body)
	}
	return v
}

func TestFoundryCatalogAndStatus(t *testing.T) {
	_, base, c := foundryStart(t, FoundryOptions{
		RawCatalogEntries: []json.RawMessage{json.RawMessage(`{"alias":"nameless"}`)},
	})
	code, body := foundryGet(t, c, base+"/foundry/list")
	if code != 200 {
		t.Fatalf("/foundry/list: %d %s", code, body)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	def := DefaultFoundryCatalog()
	if len(list) != len(def)+1 {
		t.Fatalf("%d entries, want %d", len(list), len(def)+1)
	}
	first := list[0]
	rt, _ := first["runtime"].(map[string]any)
	if first["name"] != def[0].Name || first["alias"] != "phi-4-mini" || rt["deviceType"] != "NPU" ||
		rt["executionProvider"] != "QNNExecutionProvider" || first["fileSizeMb"] != float64(2570) || first["promptTemplate"] == nil {
		t.Errorf("first entry = %v", first)
	}
	sparse := list[len(def)-1]
	for _, k := range []string{"runtime", "fileSizeMb", "publisher", "promptTemplate", "version"} {
		if _, ok := sparse[k]; ok {
			t.Errorf("sparse entry has %q: %v", k, sparse)
		}
	}
	if v, ok := sparse["maxOutputTokens"]; !ok || v != nil {
		t.Errorf("sparse entry maxOutputTokens = %v, %v; want null", v, ok)
	}
	if list[len(def)]["alias"] != "nameless" {
		t.Errorf("raw entry not appended: %v", list[len(def)])
	}

	code, body = foundryGet(t, c, base+"/openai/status")
	var st struct {
		Endpoints    []string
		ModelDirPath string
		PipeName     string
	}
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || len(st.Endpoints) != 1 ||
		st.Endpoints[0] != base || st.ModelDirPath == "" || st.PipeName != "inference_agent" {
		t.Errorf("/openai/status = %d %s", code, body)
	}
	code, body = foundryGet(t, c, base+"/flperf/sim")
	if code != 200 || !strings.Contains(body, `"dialect":"foundry"`) || !strings.Contains(body, `"simulated":true`) {
		t.Errorf("/flperf/sim = %d %s", code, body)
	}
	if code, _ := foundryGet(t, c, base+"/api/version"); code != 404 {
		t.Errorf("/api/version = %d, want 404", code)
	}
}

func TestFoundryListsFormats(t *testing.T) {
	cat := DefaultFoundryCatalog()
	_, base, c := foundryStart(t, FoundryOptions{Downloaded: []string{cat[2].Name, strings.ToUpper(cat[0].Name)}})
	if _, body := foundryGet(t, c, base+"/openai/models"); !slices.Equal(foundryIDs(t, body), []string{cat[0].Name, cat[2].Name}) {
		t.Errorf("/openai/models = %s", body)
	}
	if _, body := foundryGet(t, c, base+"/openai/loadedmodels"); body != "[]\n" {
		t.Errorf("/openai/loadedmodels = %q, want []", body)
	}

	_, base, c = foundryStart(t, FoundryOptions{Downloaded: []string{cat[2].Name}, ModelsObject: true, BareIDs: true})
	_, body := foundryGet(t, c, base+"/openai/models")
	want := `{"models":["Phi-4-mini-instruct-generic-gpu"]}` + "\n"
	if body != want {
		t.Errorf("/openai/models = %q, want %q", body, want)
	}
}

func TestFoundryLoadTTLAndUnload(t *testing.T) {
	clock := &foundryClock{t: time.Unix(1_700_000_000, 0)}
	cat := DefaultFoundryCatalog()
	a, b := cat[1].Name, cat[4].Name
	f, base, c := foundryStart(t, FoundryOptions{Downloaded: []string{a, b}, Now: clock.Now, DefaultTTL: time.Hour})

	if code, body := foundryGet(t, c, base+"/openai/load/"+a+"?ttl=30&ep=cuda"); code != 200 || body != "" {
		t.Fatalf("load = %d %q", code, body)
	}
	if code, _ := foundryGet(t, c, base+"/openai/load/"+b+"?unload=false"); code != 200 {
		t.Fatalf("load unload=false = %d", code)
	}
	if _, body := foundryGet(t, c, base+"/openai/loadedmodels"); !slices.Equal(foundryIDs(t, body), []string{a, b}) {
		t.Fatalf("loaded = %s", body)
	}
	clock.Add(29 * time.Second)
	if got := f.Loaded(); len(got) != 2 {
		t.Fatalf("loaded after 29 s of a 30 s TTL = %v", got)
	}
	clock.Add(time.Second)
	if _, body := foundryGet(t, c, base+"/openai/loadedmodels"); !slices.Equal(foundryIDs(t, body), []string{b}) {
		t.Fatalf("loaded after the TTL = %s, want only the unload=false model", body)
	}
	clock.Add(1000 * time.Hour)
	if got := f.Loaded(); !slices.Equal(got, []string{b}) {
		t.Fatalf("unload=false model expired: %v", got)
	}
	if st := f.Stats(); st.Loads != 2 || st.Expired != 1 {
		t.Errorf("stats = %+v", st)
	}

	// A load without ttl gets DefaultTTL.
	foundryGet(t, c, base+"/openai/load/"+a)
	clock.Add(time.Hour - time.Second)
	if !slices.Contains(f.Loaded(), a) {
		t.Fatal("default-TTL load expired early")
	}
	clock.Add(time.Second)
	if slices.Contains(f.Loaded(), a) {
		t.Fatal("default-TTL load did not expire")
	}

	if code, body := foundryGet(t, c, base+"/openai/unload/"+b+"?force=true"); code != 200 {
		t.Fatalf("unload = %d %s", code, body)
	}
	if code, body := foundryGet(t, c, base+"/openai/unload/"+b); code != 400 || !strings.Contains(body, "not loaded") {
		t.Errorf("unload of an unloaded model = %d %q, want 400 not loaded", code, body)
	}
	for _, u := range []string{
		"/openai/load/" + a + "?ep=tpu",
		"/openai/load/" + a + "?ttl=soon",
		"/openai/load/" + cat[0].Name, // not downloaded
	} {
		if code, _ := foundryGet(t, c, base+u); code != 400 {
			t.Errorf("GET %s = %d, want 400", u, code)
		}
	}
	if code, _ := foundryGet(t, c, base+"/openai/load/no-such-model:1"); code != 404 {
		t.Errorf("load of an unknown model = %d, want 404", code)
	}
	reqs := f.Requests()
	var last FoundryRequest
	for _, r := range reqs {
		if r.ID == a && r.Query.Get("ep") == "cuda" {
			last = r
		}
	}
	if last.Query.Get("ttl") != "30" || last.Path != "/openai/load/"+a {
		t.Errorf("logged load = %+v", last)
	}

	// Expire works on the default clock too.
	if !slices.Contains(f.Loaded(), b) {
		foundryGet(t, c, base+"/openai/load/"+b)
	}
	if !f.Expire(strings.ToLower(b)) || slices.Contains(f.Loaded(), b) || f.Expire(b) {
		t.Error("Expire did not unload exactly once")
	}
}

// foundryDownloadBody is the SDK's download request for an entry.
func foundryDownloadBody(e FoundryEntry, providerType string) string {
	tmpl, _ := json.Marshal(e.PromptTemplate)
	b, _ := json.Marshal(map[string]any{
		"model": map[string]any{"Name": e.Name, "Uri": e.URI, "Publisher": e.Publisher,
			"ProviderType": providerType, "PromptTemplate": json.RawMessage(tmpl)},
		"token": "", "IgnorePipeReport": true,
	})
	return string(b)
}

func TestFoundryDownloadPercent(t *testing.T) {
	f, base, c := foundryStart(t, FoundryOptions{DownloadSteps: 4})
	e := f.Catalog()[2]
	code, body := foundryPost(t, c, base+"/openai/download", foundryDownloadBody(e, "AzureFoundryLocal"))
	want := "Total 0.00% Downloading genai_config.json\n" +
		"Total 25.00% Downloading tokenizer.json\n" +
		"Total 50.00% Downloading model.onnx\n" +
		"Total 75.00% Downloading model.onnx.data\n" +
		"Total 100.00% Downloading model.onnx.data\n" +
		"[DONE] All Completed!\n" +
		`{"success":true,"errorMessage":null}` + "\n"
	if code != 200 || body != want {
		t.Fatalf("download = %d\n%s\nwant\n%s", code, body, want)
	}
	if !slices.Equal(f.Cached(), []string{e.Name}) || f.Stats().Downloads != 1 {
		t.Errorf("cached = %v, stats %+v", f.Cached(), f.Stats())
	}
	reqs := f.Requests()
	if r := reqs[len(reqs)-1]; r.Path != "/openai/download" || !strings.Contains(r.Body, `"ProviderType":"AzureFoundryLocal"`) {
		t.Errorf("logged download = %+v", r)
	}
	// Cached already: completes at once.
	if _, body := foundryPost(t, c, base+"/openai/download", foundryDownloadBody(e, "AzureFoundryLocal")); !strings.HasPrefix(body, "[DONE]") {
		t.Errorf("second download = %q", body)
	}
}

func TestFoundryDownloadTupleAndFailures(t *testing.T) {
	f, base, c := foundryStart(t, FoundryOptions{ProgressFormat: FoundryProgressTuple, DownloadSteps: 2})
	e := f.Catalog()[5]
	_, body := foundryPost(t, c, base+"/openai/download", foundryDownloadBody(e, "AzureFoundryLocal"))
	want := "(\"genai_config.json\", 0.00)\n(\"model.onnx\", 0.50)\n(\"model.onnx.data\", 1.00)\n" +
		"{\n  \"Success\": true,\n  \"ErrorMessage\": null\n}\n"
	if body != want {
		t.Fatalf("tuple download =\n%s\nwant\n%s", body, want)
	}

	f, base, c = foundryStart(t, FoundryOptions{DownloadSteps: 4, FailDownloadAt: 50, FailMessage: "disk full"})
	_, body = foundryPost(t, c, base+"/openai/download", foundryDownloadBody(e, "AzureFoundryLocal"))
	want = "Total 0.00% Downloading genai_config.json\nTotal 25.00% Downloading tokenizer.json\n" +
		`{"success":false,"errorMessage":"disk full"}` + "\n"
	if body != want || len(f.Cached()) != 0 {
		t.Fatalf("failing download =\n%s\nwant\n%s\ncached %v", body, want, f.Cached())
	}
	for _, c2 := range []struct{ body, want string }{
		{foundryDownloadBody(e, "AzureFoundry"), "Unsupported provider type"},
		{strings.Replace(foundryDownloadBody(e, "AzureFoundryLocal"), e.URI, "azureml://elsewhere", 1), "does not match"},
		{`{"model":"no-such-model"}`, "not found in the catalog"},
	} {
		code, body := foundryPost(t, c, base+"/openai/download", c2.body)
		if code != 200 || !strings.Contains(body, `"success":false`) || !strings.Contains(body, c2.want) {
			t.Errorf("download %s = %d %q, want a failure mentioning %q", c2.body, code, body, c2.want)
		}
	}
	if code, _ := foundryPost(t, c, base+"/openai/download", `{"model":`); code != 400 {
		t.Errorf("malformed download body = %d, want 400", code)
	}

	_, base, c = foundryStart(t, FoundryOptions{DownloadSteps: 1, NoDownloadResult: true})
	if _, body := foundryPost(t, c, base+"/openai/download", `{"model":"`+e.Name+`"}`); strings.Contains(body, "{") || strings.Contains(body, "[DONE]") {
		t.Errorf("NoDownloadResult body = %q", body)
	}
}

func TestFoundryCatalogError(t *testing.T) {
	_, base, c := foundryStart(t, FoundryOptions{CatalogError: "No models were returned from the Azure Foundry catalog"})
	if code, body := foundryGet(t, c, base+"/foundry/list"); code != 500 || !strings.Contains(body, "No models were returned") {
		t.Errorf("/foundry/list = %d %q", code, body)
	}
}

func TestNewFoundryRejects(t *testing.T) {
	cat := DefaultFoundryCatalog()
	for name, opts := range map[string]FoundryOptions{
		"format":     {ProgressFormat: "bar"},
		"steps":      {DownloadSteps: -1},
		"empty":      {Catalog: []FoundryEntry{}},
		"duplicate":  {Catalog: []FoundryEntry{cat[0], {Name: strings.ToUpper(cat[0].Name)}}},
		"downloaded": {Downloaded: []string{"nope"}},
		"raw":        {RawCatalogEntries: []json.RawMessage{json.RawMessage("{")}},
		"bad name":   {Catalog: []FoundryEntry{{Name: "has space"}}},
	} {
		if _, err := NewFoundry(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// foundrySSE returns the data of every SSE frame of a stream.
func foundrySSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestFoundryChatQuirks(t *testing.T) {
	cat := DefaultFoundryCatalog()
	id := cat[4].Name
	f, base, c := foundryStart(t, FoundryOptions{Downloaded: []string{id}})

	// Not downloaded: 400 with the legacy message.
	code, body := foundryPost(t, c, base+"/v1/chat/completions", `{"model":"`+cat[0].Name+`","messages":[{"role":"user","content":"hi"}]}`)
	if code != 400 || !strings.Contains(body, "No OpenAIService provider found for modelName") {
		t.Fatalf("chat with a model not downloaded = %d %q", code, body)
	}

	// Cached but not loaded: loaded implicitly; the id is matched
	// case-insensitively.
	req := `{"model":"` + strings.ToLower(id) + `","stream":true,"max_tokens":6,"messages":[{"role":"user","content":"hi"}]}`
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	frames := foundrySSE(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(frames) < 2 || frames[len(frames)-1] != "[DONE]" {
		t.Fatalf("stream = %d %q", resp.StatusCode, frames)
	}
	if st := f.Stats(); st.ImplicitLoads != 1 || !slices.Equal(f.Loaded(), []string{id}) {
		t.Errorf("after an implicit load: stats %+v, loaded %v", st, f.Loaded())
	}
	seen := map[string]bool{}
	var text strings.Builder
	for i, d := range frames[:len(frames)-1] {
		var ch map[string]json.RawMessage
		if err := json.Unmarshal([]byte(d), &ch); err != nil {
			t.Fatalf("frame %d: %v: %s", i, err, d)
		}
		for _, k := range []string{"CreatedAt", "StreamEvent", "IsDelta", "Successful", "HttpStatusCode", "HeaderValues"} {
			if _, ok := ch[k]; !ok {
				t.Errorf("frame %d lacks %s: %s", i, k, d)
			}
		}
		if string(ch["error"]) != "null" || string(ch["usage"]) != "null" {
			t.Errorf("frame %d: error %s, usage %s; want null, null", i, ch["error"], ch["usage"])
		}
		var cid string
		json.Unmarshal(ch["id"], &cid)
		if seen[cid] {
			t.Errorf("frame %d repeats id %q", i, cid)
		}
		seen[cid] = true
		var choices []struct {
			Index        int
			FinishReason *string `json:"finish_reason"`
			Delta        struct{ Content string }
			Message      struct{ Content string }
		}
		json.Unmarshal(ch["choices"], &choices)
		if len(choices) != 1 || choices[0].FinishReason != nil || choices[0].Index != i || choices[0].Message.Content != choices[0].Delta.Content {
			t.Errorf("frame %d choices = %+v", i, choices)
			continue
		}
		text.WriteString(choices[0].Delta.Content)
	}
	if n := len(strings.Fields(text.String())); n != 6 {
		t.Errorf("streamed %d words (%q), want 6", n, text.String())
	}

	// A non-streaming answer passes unchanged (no usage: the profile's Usage is off).
	code, body = foundryPost(t, c, base+"/v1/chat/completions", `{"model":"`+id+`","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`)
	if code != 200 || strings.Contains(body, "usage") || !strings.Contains(body, `"finish_reason":"length"`) {
		t.Errorf("non-stream = %d %s", code, body)
	}
	if st := f.Stats(); st.Chats != 2 || st.ImplicitLoads != 1 {
		t.Errorf("stats = %+v", st)
	}
	if s := f.Sim().Stats(); s.Requests != 2 {
		t.Errorf("simulator saw %d requests, want 2", s.Requests)
	}
}

func TestFoundryServe(t *testing.T) {
	f, err := NewFoundry(FoundryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := sim.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx, ln) }()
	c := &http.Client{}
	t.Cleanup(c.CloseIdleConnections)
	if code, _ := foundryGet(t, c, "http://"+ln.Addr().String()+"/openai/status"); code != 200 {
		t.Errorf("status = %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}
