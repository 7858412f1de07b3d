package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestModelName checks the file-name rule: paths (Unix, Windows, relative
// to a .gguf) are shown by their file name, every other id as it is.
func TestModelName(t *testing.T) {
	for id, want := range map[string]string{
		"/models/x/rand-24M.gguf":  "rand-24M.gguf",
		`C:\models\x.gguf`:         "x.gguf",
		"C:/models/x.gguf":         "x.gguf",
		`\\server\share\m.gguf`:    "m.gguf",
		"./rand.gguf":              "rand.gguf",
		"../m/rand.gguf":           "rand.gguf",
		"~/m/rand.gguf":            "rand.gguf",
		"models/tiny.GGUF":         "tiny.GGUF",
		"/models/Llama-3-8B/":      "Llama-3-8B", // vLLM's --model directory
		"sim-fast":                 "sim-fast",
		"llama3.2:1b":              "llama3.2:1b",
		"meta-llama/Llama-3.1-8B":  "meta-llama/Llama-3.1-8B",
		"hf.co/org/m-GGUF:Q4_K_M":  "hf.co/org/m-GGUF:Q4_K_M",
		"phi-4-mini-instruct-cuda": "phi-4-mini-instruct-cuda",
		"/":                        "/",
		"":                         "",
		"c:model":                  "c:model",
	} {
		if got := ModelName(id); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestTableShowsFileNames checks that a run whose models are file paths
// shows their file names in every row of the table and the Markdown and
// in their best-model lines,
// while JSON and CSV keep the full ids.
func TestTableShowsFileNames(t *testing.T) {
	r := result(t)
	full := map[string]string{"fast": "/models/x/rand-24M.gguf", "broken": `C:\models\broken.gguf`}
	rename := func(m *string) {
		if f, ok := full[*m]; ok {
			*m = f
		}
	}
	for i := range r.Config.Models {
		rename(&r.Config.Models[i])
	}
	for i := range r.Groups {
		rename(&r.Groups[i].Model)
	}
	for i := range r.Models {
		rename(&r.Models[i].Model)
	}
	var tb, mb, jb, cb bytes.Buffer
	if err := Table(&tb, r); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&mb, r); err != nil {
		t.Fatal(err)
	}
	for name, tab := range map[string]string{"table": tb.String(), "Markdown": mb.String()} {
		if strings.Contains(tab, "/models/") || strings.Contains(tab, `C:\`) || strings.Contains(tab, `C:\\`) {
			t.Errorf("the %s shows a path:\n%s", name, tab)
		}
		if n := strings.Count(tab, "rand-24M.gguf"); n < 3 { // scenario row, model row, a best-model line
			t.Errorf("%s: rand-24M.gguf shown %d times, want a row per table and the best-model lines:\n%s", name, n, tab)
		}
		if n := strings.Count(tab, "broken.gguf"); n < 2 {
			t.Errorf("%s: broken.gguf shown %d times:\n%s", name, n, tab)
		}
	}
	if err := JSON(&jb, r); err != nil {
		t.Fatal(err)
	}
	if err := CSV(&cb, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"JSON": jb.String(), "CSV": cb.String()} {
		if !strings.Contains(out, "/models/x/rand-24M.gguf") {
			t.Errorf("%s lost the full model id:\n%.400s", name, out)
		}
	}
}
