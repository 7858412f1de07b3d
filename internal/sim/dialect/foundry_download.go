package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// foundryMaxDownloadBody is the largest download request body accepted.
const foundryMaxDownloadBody = 1 << 20

// foundryDownloadFiles are the files a download reports, in order.
var foundryDownloadFiles = []string{"genai_config.json", "tokenizer.json", "model.onnx", "model.onnx.data"}

// foundryDownloadRequest is POST /openai/download's body: the SDK shape
// {"model":{"Name","Uri","Publisher","ProviderType","PromptTemplate"},
// "token","IgnorePipeReport"} or the REST doc's {"model":"<name>",
// "ignorePipeReport":…}. Keys match case-insensitively, as in the .NET
// service.
type foundryDownloadRequest struct {
	Model json.RawMessage
}

type foundryDownloadModel struct {
	Name           string
	URI            string `json:"Uri"`
	Publisher      string
	ProviderType   string
	PromptTemplate json.RawMessage
}

// download serves POST /openai/download (docs/engines.md §1.6): chunked
// progress lines in the configured framing, then the JSON result.
func (f *Foundry) download(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // already bounded by ServeHTTP
	if len(body) > foundryMaxDownloadBody {
		foundryText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", foundryMaxDownloadBody))
		return
	}
	var req foundryDownloadRequest
	if err := json.Unmarshal(body, &req); err != nil {
		foundryText(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	var m foundryDownloadModel
	raw := bytes.TrimSpace(req.Model)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		foundryText(w, http.StatusBadRequest, `missing "model"`)
		return
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &m.Name); err != nil {
			foundryText(w, http.StatusBadRequest, `invalid "model": `+err.Error())
			return
		}
	default:
		if err := json.Unmarshal(raw, &m); err != nil {
			foundryText(w, http.StatusBadRequest, `invalid "model": `+err.Error())
			return
		}
		if m.ProviderType != "AzureFoundryLocal" {
			f.downloadResult(w, false, fmt.Sprintf("Unsupported provider type %q: expected AzureFoundryLocal", m.ProviderType))
			return
		}
	}
	e, ok := f.lookup(m.Name)
	if !ok {
		f.downloadResult(w, false, fmt.Sprintf("Model %s not found in the catalog", m.Name))
		return
	}
	if raw[0] != '"' && e.URI != "" && m.URI != e.URI {
		f.downloadResult(w, false, fmt.Sprintf("Model %s: uri %q does not match the catalog's %q", e.Name, m.URI, e.URI))
		return
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	line := func(s string) bool {
		if _, err := io.WriteString(w, s+"\n"); err != nil {
			return false
		}
		err := rc.Flush()
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	f.mu.Lock()
	cached := f.cached[e.Name]
	f.mu.Unlock()
	steps := f.opts.DownloadSteps
	if steps == 0 {
		steps = 5
	}
	tuple := f.opts.ProgressFormat == FoundryProgressTuple
	for i := 0; i <= steps && !cached; i++ {
		pct := 100 * float64(i) / float64(steps)
		if f.opts.FailDownloadAt > 0 && pct >= f.opts.FailDownloadAt {
			msg := f.opts.FailMessage
			if msg == "" {
				msg = fmt.Sprintf("Failed to download %s: the connection to the model registry was reset", e.Name)
			}
			f.writeResult(line, false, msg)
			return
		}
		if i > 0 && !foundrySleep(r.Context(), f.opts.DownloadDelay) {
			return
		}
		file := foundryDownloadFiles[min(i*len(foundryDownloadFiles)/steps, len(foundryDownloadFiles)-1)]
		s := fmt.Sprintf("Total %.2f%% Downloading %s", pct, file)
		if tuple {
			s = fmt.Sprintf("(%q, %.2f)", file, pct/100)
		}
		if !line(s) {
			return
		}
	}
	if f.opts.NoDownloadResult {
		return
	}
	f.mu.Lock()
	if !f.cached[e.Name] {
		f.cached[e.Name] = true
		f.stats.Downloads++
	}
	f.mu.Unlock()
	if !tuple && !line("[DONE] All Completed!") {
		return
	}
	f.writeResult(line, true, "")
}

// downloadResult answers a download that fails before any progress.
func (f *Foundry) downloadResult(w http.ResponseWriter, ok bool, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	f.writeResult(func(s string) bool { _, err := io.WriteString(w, s+"\n"); return err == nil }, ok, msg)
}

// writeResult writes the final JSON in the configured framing: one line of
// {"success","errorMessage"}, or an indented {"Success","ErrorMessage"}.
func (f *Foundry) writeResult(line func(string) bool, ok bool, msg string) {
	var errMsg *string
	if msg != "" {
		errMsg = &msg
	}
	var b []byte
	if f.opts.ProgressFormat == FoundryProgressTuple {
		b, _ = json.MarshalIndent(struct {
			Success      bool    `json:"Success"`
			ErrorMessage *string `json:"ErrorMessage"`
		}{ok, errMsg}, "", "  ")
	} else {
		b, _ = json.Marshal(struct {
			Success      bool    `json:"success"`
			ErrorMessage *string `json:"errorMessage"`
		}{ok, errMsg})
	}
	line(strings.TrimSpace(string(b)))
}
