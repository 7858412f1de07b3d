package dialect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// ollamaKeepAlive is a request's keep_alive.
type ollamaKeepAlive struct {
	set     bool          // the request had one
	d       time.Duration // how long the model stays loaded once idle
	forever bool          // negative: never unload
}

// parseOllamaKeepAlive reads keep_alive as Ollama does: a number of seconds, a Go
// duration string ("10m", "0"), negative meaning forever; null or absent
// means the server default.
func parseOllamaKeepAlive(raw json.RawMessage) (ollamaKeepAlive, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ollamaKeepAlive{}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return ollamaKeepAlive{}, err
	}
	switch t := v.(type) {
	case float64:
		if t < 0 {
			return ollamaKeepAlive{set: true, forever: true}, nil
		}
		if t*1e9 >= math.MaxInt64 {
			return ollamaKeepAlive{set: true, forever: true}, nil
		}
		return ollamaKeepAlive{set: true, d: time.Duration(t * float64(time.Second))}, nil
	case string:
		d, err := time.ParseDuration(t)
		if err != nil {
			return ollamaKeepAlive{}, err
		}
		if d < 0 {
			return ollamaKeepAlive{set: true, forever: true}, nil
		}
		return ollamaKeepAlive{set: true, d: d}, nil
	}
	return ollamaKeepAlive{}, errors.New("keep_alive must be a number of seconds or a duration string")
}

// defaultKeepAlive is the keep-alive of requests that set none.
func (o *Ollama) defaultKeepAlive() ollamaKeepAlive {
	if o.KeepAlive > 0 {
		return ollamaKeepAlive{d: o.KeepAlive}
	}
	return ollamaKeepAlive{d: DefaultOllamaKeepAlive}
}

// residentLocked reports whether m is in memory at now, noting an expiry.
// The caller holds o.mu.
func (m *ollamaModel) residentLocked(now time.Time) bool {
	if m.loaded && m.active == 0 && !m.forever && !now.Before(m.expires) {
		m.loaded = false
	}
	return m.loaded && m.pulled
}

// expiresLocked is the expires_at /api/ps reports. The caller holds o.mu.
func (o *Ollama) expiresLocked(m *ollamaModel, now time.Time) time.Time {
	switch {
	case m.forever:
		return now.Add(time.Duration(math.MaxInt64)) // what Ollama reports for a negative keep_alive
	case m.active > 0:
		return now.Add(o.defaultKeepAlive().d)
	}
	return m.expires
}

// acquire makes m resident with the context numCtx (a request's
// options.num_ctx; 0: the model's NumCtx), loading it (LoadTime) if it is
// not, or reloading it when it is loaded with another context, as Ollama
// does, and counts one more request using it. It returns how long that
// took (Ollama's load_duration, large only when this request loaded the
// model) and the context in force for the request.
func (o *Ollama) acquire(ctx context.Context, m *ollamaModel, numCtx int) (time.Duration, int, error) {
	start := time.Now()
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	o.mu.Lock()
	want := m.info.NumCtx
	if numCtx > 0 {
		want = min(numCtx, m.info.ContextLength) // Ollama caps num_ctx at the trained context
	}
	resident := m.residentLocked(time.Now()) && (numCtx <= 0 || m.numCtx == want)
	if resident {
		m.active++
		want = m.numCtx
	}
	o.mu.Unlock()
	if !resident {
		if err := ollamaSleep(ctx, o.LoadTime); err != nil {
			return 0, 0, err
		}
		o.mu.Lock()
		if !m.pulled {
			o.mu.Unlock()
			return 0, 0, fmt.Errorf("model %q was deleted while loading", m.name)
		}
		m.loaded, m.forever, m.numCtx = true, false, want
		m.active++
		o.mu.Unlock()
	}
	return max(time.Since(start), 1), want, nil
}

// release ends a request's use of m and starts its keep-alive.
func (o *Ollama) release(m *ollamaModel, ka ollamaKeepAlive) {
	if !ka.set {
		ka = o.defaultKeepAlive()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	m.active--
	m.forever = ka.forever
	m.expires = time.Now().Add(ka.d)
	if m.active == 0 && !ka.forever && ka.d == 0 {
		m.loaded = false
	}
}

// unload drops m from memory now (keep_alive 0 with nothing to generate);
// requests in flight keep it until they end.
func (o *Ollama) unload(m *ollamaModel) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m.forever, m.expires = false, time.Now()
	if m.active == 0 {
		m.loaded = false
	}
}

// loadOnly answers a chat without messages or a generate without a prompt:
// Ollama loads the model (keep_alive 0: unloads it) and answers at once,
// with done_reason "load" or "unload" and no timings. A load with
// options.num_ctx (numCtx > 0) loads the model with that context.
func (o *Ollama) loadOnly(w http.ResponseWriter, r *http.Request, m *ollamaModel, name string, ka ollamaKeepAlive, generate bool, numCtx int) {
	reason := "load"
	if ka.set && !ka.forever && ka.d == 0 {
		reason = "unload"
		o.unload(m)
	} else {
		if _, _, err := o.acquire(r.Context(), m, numCtx); err != nil {
			if r.Context().Err() == nil {
				ollamaErr(w, http.StatusInternalServerError, err.Error())
			}
			return
		}
		o.release(m, ka)
	}
	resp := map[string]any{"model": name, "created_at": time.Now().UTC(), "done": true, "done_reason": reason}
	if generate {
		resp["response"] = ""
	} else {
		resp["message"] = map[string]string{"role": "assistant", "content": ""}
	}
	ollamaJSON(w, http.StatusOK, resp)
}

// ollamaSleep sleeps d, or less when ctx ends first (returning its error).
func ollamaSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
