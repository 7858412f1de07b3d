package dialect

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
)

// foundry1xError decodes a 1.x error body and returns its message and type.
func foundry1xError(t *testing.T, body string) (msg, typ string) {
	t.Helper()
	var e struct {
		Error *struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil {
		t.Fatalf("not a 1.x error body: %q", body)
	}
	return e.Error.Message, e.Error.Type
}

// foundry1xStatus decodes {"status":…}.
func foundry1xStatus(t *testing.T, body string) string {
	t.Helper()
	var v struct{ Status string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not a status body: %q", body)
	}
	return v.Status
}

func TestFoundry1xStatusAndNoLegacyRoutes(t *testing.T) {
	_, base, c := foundryStart(t, FoundryOptions{Generation: Foundry1x})
	code, body := foundryGet(t, c, base+"/status")
	var st struct {
		ModelCachePath string   `json:"modelCachePath"`
		Endpoints      []string `json:"endpoints"`
		PID            int      `json:"pid"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.ModelCachePath == "" ||
		!slices.Equal(st.Endpoints, []string{base}) || st.PID <= 0 {
		t.Errorf("/status = %d %q", code, body)
	}
	for _, path := range []string{"/openai/status", "/foundry/list", "/openai/models", "/openai/loadedmodels", "/openai/load/x", "/openai/unload/x", "/openai/unloadall"} {
		code, body := foundryGet(t, c, base+path)
		if code != 404 {
			t.Errorf("GET %s = %d %q, want 404 in 1.x mode", path, code, body)
			continue
		}
		if _, typ := foundry1xError(t, body); typ != "invalid_request_error" {
			t.Errorf("GET %s: type %q", path, typ)
		}
	}
	if code, _ := foundryPost(t, c, base+"/openai/download", `{"model":"x"}`); code != 404 {
		t.Errorf("POST /openai/download = %d, want 404", code)
	}
	var info struct {
		Simulated  bool
		Dialect    string
		Generation string `json:"dialect_generation"`
	}
	if _, body := foundryGet(t, c, base+"/flperf/sim"); json.Unmarshal([]byte(body), &info) != nil ||
		!info.Simulated || info.Dialect != "foundry" || !strings.HasPrefix(info.Generation, "1.x") {
		t.Errorf("/flperf/sim = %s", body)
	}
	// The legacy dialect has no 1.x routes.
	_, lbase, lc := foundryStart(t, FoundryOptions{})
	for _, path := range []string{"/status", "/models/loaded", "/models/load/x"} {
		if code, _ := foundryGet(t, lc, lbase+path); code != 404 {
			t.Errorf("legacy GET %s = %d, want 404", path, code)
		}
	}
}

func TestFoundry1xModelsLoadUnload(t *testing.T) {
	cat := DefaultFoundryCatalog()
	cpu, npu := cat[4].Name, cat[0].Name // phi-4-mini CPU (cached) and NPU (not)
	f, base, c := foundryStart(t, FoundryOptions{Generation: Foundry1x, Downloaded: []string{cpu}})

	// /v1/models: every variant, cached or not, in catalog order.
	_, body := foundryGet(t, c, base+"/v1/models")
	var list struct {
		Object string
		Data   []struct {
			ID      string
			Object  string
			OwnedBy string `json:"owned_by"`
		}
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || list.Object != "list" || len(list.Data) != len(cat) {
		t.Fatalf("/v1/models = %s", body)
	}
	for i, m := range list.Data {
		if m.ID != cat[i].Name || m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("/v1/models[%d] = %+v, want %s", i, m, cat[i].Name)
		}
	}
	if code, body := foundryGet(t, c, base+"/v1/models/"+npu); code != 200 || !strings.Contains(body, `"id":"`+npu+`"`) {
		t.Errorf("/v1/models/{id} = %d %s", code, body)
	}
	if code, _ := foundryGet(t, c, base+"/v1/models/nope"); code != 404 {
		t.Errorf("/v1/models/nope = %d", code)
	}

	if _, body := foundryGet(t, c, base+"/models/loaded"); body != "[]\n" {
		t.Errorf("/models/loaded = %q, want []", body)
	}
	// The load and unload routes take an alias only, matched exactly, as the
	// public core's catalog.GetModel: a variant id is 404 like an unknown name.
	for _, name := range []string{"no-such-model", npu, cpu, "PHI-4-MINI"} {
		code, body := foundryGet(t, c, base+"/models/load/"+name)
		if msg, _ := foundry1xError(t, body); code != 404 || !strings.Contains(msg, name) {
			t.Errorf("load %s = %d %q, want 404", name, code, body)
		}
	}
	// An alias none of whose variants is downloaded.
	code, body := foundryGet(t, c, base+"/models/load/qwen2.5-0.5b")
	if msg, typ := foundry1xError(t, body); code != 400 || !strings.HasPrefix(msg, "Model not cached") || typ != "invalid_request_error" {
		t.Errorf("load not cached = %d %q", code, body)
	}
	// The alias loads its selected variant: its first cached one (CPU here,
	// although the NPU variant comes first in the catalog).
	code, body = foundryGet(t, c, base+"/models/load/phi-4-mini?ttl=30")
	if code != 200 || foundry1xStatus(t, body) != "loaded" {
		t.Fatalf("load = %d %q", code, body)
	}
	if code, body = foundryGet(t, c, base+"/models/load/phi-4-mini"); code != 200 || foundry1xStatus(t, body) != "already_loaded" {
		t.Errorf("load alias again = %d %q", code, body)
	}
	if _, body := foundryGet(t, c, base+"/models/loaded"); !slices.Equal(foundryIDs(t, body), []string{cpu}) {
		t.Errorf("/models/loaded = %q, want the selected variant %s", body, cpu)
	}
	if st := f.Stats(); st.Loads != 1 {
		t.Errorf("loads = %d, want 1", st.Loads)
	}
	if code, _ = foundryGet(t, c, base+"/models/unload/"+cpu); code != 404 {
		t.Errorf("unload by variant id = %d, want 404", code)
	}
	code, body = foundryGet(t, c, base+"/models/unload/phi-4-mini")
	if code != 200 || foundry1xStatus(t, body) != "unloaded" {
		t.Errorf("unload = %d %q", code, body)
	}
	if code, body = foundryGet(t, c, base+"/models/unload/phi-4-mini"); code != 200 || foundry1xStatus(t, body) != "not_loaded" {
		t.Errorf("second unload = %d %q", code, body)
	}
	if code, _ = foundryGet(t, c, base+"/models/unload/nope"); code != 404 {
		t.Errorf("unload unknown = %d", code)
	}
	if st := f.Stats(); st.Unloads != 1 || len(f.Loaded()) != 0 {
		t.Errorf("stats %+v, loaded %v", st, f.Loaded())
	}
	var ids []string
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.Path, "/models/load/") {
			ids = append(ids, r.ID)
		}
	}
	if want := []string{"no-such-model", npu, cpu, "PHI-4-MINI", "qwen2.5-0.5b", "phi-4-mini", "phi-4-mini"}; !slices.Equal(ids, want) {
		t.Errorf("logged load ids = %q, want %q", ids, want)
	}
}

func TestFoundry1xTTL(t *testing.T) {
	cat := DefaultFoundryCatalog()
	id := cat[4].Name
	for _, c := range []struct {
		ttl     time.Duration
		expired bool
	}{{30 * time.Second, true}, {0, false}} {
		clock := &foundryClock{t: time.Unix(1_700_000_000, 0)}
		f, base, hc := foundryStart(t, FoundryOptions{Generation: Foundry1x, Downloaded: []string{id}, DefaultTTL: c.ttl, Now: clock.Now})
		if code, _ := foundryGet(t, hc, base+"/models/load/phi-4-mini"); code != 200 {
			t.Fatal(code)
		}
		clock.Add(29 * time.Second)
		if len(f.Loaded()) != 1 {
			t.Fatalf("TTL %v: unloaded before its time", c.ttl)
		}
		clock.Add(24 * time.Hour)
		_, body := foundryGet(t, hc, base+"/models/loaded")
		if got := len(foundryIDs(t, body)) == 0; got != c.expired || (f.Stats().Expired == 1) != c.expired {
			t.Errorf("TTL %v: expired = %v (%q, %+v), want %v", c.ttl, got, body, f.Stats(), c.expired)
		}
	}
}

func TestFoundry1xChat(t *testing.T) {
	cat := DefaultFoundryCatalog()
	id := cat[4].Name
	f, base, c := foundryStart(t, FoundryOptions{Generation: Foundry1x, Downloaded: []string{id}})
	msgs := `"messages":[{"role":"user","content":"hi"}]`

	code, body := foundryPost(t, c, base+"/v1/chat/completions", `{"model":"nope",`+msgs+`}`)
	if msg, _ := foundry1xError(t, body); code != 404 || !strings.Contains(msg, "nope") {
		t.Errorf("unknown model = %d %q", code, body)
	}
	// Cached but not loaded: 400, and no implicit load.
	code, body = foundryPost(t, c, base+"/v1/chat/completions", `{"model":"`+id+`","stream":true,`+msgs+`}`)
	if msg, typ := foundry1xError(t, body); code != 400 || !strings.HasPrefix(msg, "Model not loaded") || typ != "invalid_request_error" {
		t.Errorf("not loaded = %d %q", code, body)
	}
	if st := f.Stats(); st.NotLoaded != 1 || st.ImplicitLoads != 0 || len(f.Loaded()) != 0 || f.Sim().Stats().Requests != 0 {
		t.Errorf("after a refused chat: %+v, loaded %v", st, f.Loaded())
	}

	// A chat names a variant id: the alias is unknown there.
	if code, _ := foundryPost(t, c, base+"/v1/chat/completions", `{"model":"phi-4-mini",`+msgs+`}`); code != 404 {
		t.Errorf("chat by alias = %d, want 404", code)
	}
	foundryGet(t, c, base+"/models/load/phi-4-mini")
	req := `{"model":"` + id + `","stream":true,"max_tokens":5,"stream_options":{"include_usage":true},` + msgs + `}`
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	frames := foundrySSE(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(frames) < 4 {
		t.Fatalf("stream = %d %q", resp.StatusCode, frames)
	}
	// A successful stream ends with [DONE], after the usage chunk, as the
	// public core's streaming thread pushes it.
	if frames[len(frames)-1] != "[DONE]" || slices.Index(frames, "[DONE]") != len(frames)-1 {
		t.Fatalf("1.x stream does not end with one [DONE]: %q", frames)
	}
	frames = frames[:len(frames)-1]
	var last struct {
		Choices []json.RawMessage
		Usage   *struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(frames[len(frames)-1]), &last); err != nil || len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens != 5 {
		t.Errorf("last frame = %s; want the usage chunk with 5 completion tokens", frames[len(frames)-1])
	}
	if !strings.Contains(strings.Join(frames, "\n"), `"finish_reason":"length"`) {
		t.Errorf("no finish_reason: %q", frames)
	}
	code, body = foundryPost(t, c, base+"/v1/chat/completions", `{"model":"`+id+`","max_tokens":3,`+msgs+`}`)
	if code != 200 || !strings.Contains(body, `"completion_tokens":3`) {
		t.Errorf("non-stream = %d %s", code, body)
	}
	if st := f.Stats(); st.Chats != 2 || st.StreamErrors != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFoundry1xStreamError(t *testing.T) {
	cat := DefaultFoundryCatalog()
	id := cat[4].Name
	prof := sim.Profile{TTFT: time.Millisecond, DecodeTPS: 5000, Seed: 3}
	f, base, c := foundryStart(t, FoundryOptions{Generation: Foundry1x, Downloaded: []string{id}, FailStreamAfter: 2,
		FailStreamMessage: "OrtGenAI: out of memory", Profile: prof})
	foundryGet(t, c, base+"/models/load/phi-4-mini")
	req := `{"model":"` + id + `","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	frames := foundrySSE(t, resp.Body)
	resp.Body.Close()
	// After an error frame the body ends without [DONE].
	if len(frames) != 3 || slices.Contains(frames, "[DONE]") {
		t.Fatalf("frames = %q; want 2 chunks and the error frame, no [DONE]", frames)
	}
	for _, fr := range frames[:2] {
		if !strings.Contains(fr, `"choices":[{`) {
			t.Errorf("frame %q is not a chunk", fr)
		}
	}
	if msg, typ := foundry1xError(t, frames[2]); msg != "OrtGenAI: out of memory" || typ != "server_error" {
		t.Errorf("error frame = %s", frames[2])
	}
	if st := f.Stats(); st.StreamErrors != 1 {
		t.Errorf("stats = %+v", st)
	}
	// A non-streaming answer is not affected.
	if code, body := foundryPost(t, c, base+"/v1/chat/completions", `{"model":"`+id+`","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`); code != http.StatusOK {
		t.Errorf("non-stream = %d %s", code, body)
	}
}

func TestNewFoundry1xRejects(t *testing.T) {
	for name, opts := range map[string]FoundryOptions{
		"generation":         {Generation: "2.0"},
		"1.x BareIDs":        {Generation: Foundry1x, BareIDs: true},
		"1.x download":       {Generation: Foundry1x, FailDownloadAt: 50},
		"1.x raw":            {Generation: Foundry1x, RawCatalogEntries: []json.RawMessage{json.RawMessage("{}")}},
		"legacy fail stream": {FailStreamAfter: 2},
		"negative":           {Generation: Foundry1x, FailStreamAfter: -1},
	} {
		if _, err := NewFoundry(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewFoundry(FoundryOptions{Generation: FoundryLegacy}); err != nil {
		t.Errorf("explicit legacy: %v", err)
	}
}
