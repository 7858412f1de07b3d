package dialect

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ollamaLayer is one blob of a model's manifest.
type ollamaLayer struct {
	digest string // "sha256:" + 64 hex digits
	size   int64
}

// layers are the blobs of a model of size bytes: the weights, then a
// template and a parameters file, as Ollama's library models have.
func ollamaLayers(name string, size int64) []ollamaLayer {
	sizes := []int64{size}
	if size > 4096 {
		sizes = []int64{size - 1536, 1024, 512}
	}
	out := make([]ollamaLayer, len(sizes))
	for i, s := range sizes {
		sum := sha256.Sum256([]byte("flperf-sim-ollama-layer/" + name + "/" + strconv.Itoa(i)))
		out[i] = ollamaLayer{digest: "sha256:" + hex.EncodeToString(sum[:]), size: s}
	}
	return out
}

// ollamaPullLine is one line of a pull's NDJSON progress.
type ollamaPullLine struct {
	Status    string `json:"status,omitempty"`
	Digest    string `json:"digest,omitempty"`
	Total     int64  `json:"total,omitempty"`
	Completed int64  `json:"completed,omitempty"`
	Error     string `json:"error,omitempty"`
}

// pull serves POST /api/pull: progress as NDJSON lines ("pulling
// manifest", per layer "pulling <digest>" with total and completed, then
// "verifying sha256 digest", "writing manifest", "success"), or one object
// with "stream": false. An unknown model, or PullFailure half-way, ends
// the stream with an {"error"} line (HTTP 500 when not streaming).
func (o *Ollama) pull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string `json:"model"`
		Name   string `json:"name"`
		Stream *bool  `json:"stream"`
	}
	if !ollamaDecode(w, r, &req) {
		return
	}
	name := cmp.Or(req.Model, req.Name)
	if name == "" {
		ollamaErr(w, http.StatusBadRequest, "model is required")
		return
	}
	stream := req.Stream == nil || *req.Stream
	ctx := r.Context()
	rc := http.NewResponseController(w)
	started := false
	send := func(p ollamaPullLine) bool {
		if !stream {
			return true
		}
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
		}
		b, _ := json.Marshal(p)
		if _, err := w.Write(append(b, '\n')); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	fail := func(msg string) {
		if stream {
			send(ollamaPullLine{Error: msg})
			return
		}
		ollamaErr(w, http.StatusInternalServerError, msg)
	}

	if !send(ollamaPullLine{Status: "pulling manifest"}) {
		return
	}
	m := o.lookup(name)
	if m == nil {
		fail("pull model manifest: file does not exist")
		return
	}
	o.mu.Lock()
	size := m.info.Size
	o.mu.Unlock()
	ls := ollamaLayers(m.name, size)
	steps := o.PullSteps
	if steps <= 0 {
		steps = 4
	}
	var total, done int64
	for _, l := range ls {
		total += l.size
	}
	for _, l := range ls {
		status := "pulling " + l.digest[len("sha256:"):len("sha256:")+12]
		if !send(ollamaPullLine{Status: status, Digest: l.digest, Total: l.size}) {
			return
		}
		for i := 1; i <= steps; i++ {
			if ollamaSleep(ctx, o.PullStepDelay) != nil {
				return
			}
			completed := l.size * int64(i) / int64(steps)
			if o.PullFailure != "" && 2*(done+completed) >= total {
				fail(o.PullFailure)
				return
			}
			if !send(ollamaPullLine{Status: status, Digest: l.digest, Total: l.size, Completed: completed}) {
				return
			}
		}
		done += l.size
	}
	for _, s := range []string{"verifying sha256 digest", "writing manifest"} {
		if !send(ollamaPullLine{Status: s}) {
			return
		}
	}
	o.mu.Lock()
	m.pulled, m.modified = true, time.Now().UTC()
	o.mu.Unlock()
	if stream {
		send(ollamaPullLine{Status: "success"})
		return
	}
	ollamaJSON(w, http.StatusOK, ollamaPullLine{Status: "success"})
}
