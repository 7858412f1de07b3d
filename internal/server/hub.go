package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// event is one Server-Sent Event of a stream: its id (1, 2, 3… per
// stream), type and JSON data.
type event struct {
	id        int64
	typ       string
	data      []byte
	droppable bool // a progress-like snapshot that a later one supersedes
}

// hub buffers one stream's events for every subscriber, with increasing
// ids, so that a client that reconnects with Last-Event-ID resumes with no
// gap and no repeat. Buffer rule: every event is kept, except that at most
// keepDroppable droppable events (progress snapshots, each superseding the
// one before) are kept, the oldest dropped first. A client resuming from
// before the oldest kept snapshot misses only snapshots, never a status,
// stage, log, summary or end event.
type hub struct {
	mu            sync.Mutex
	events        []event
	next          int64
	droppable     int
	keepDroppable int
	ended         bool
	notify        chan struct{} // closed and replaced at every publish
}

// newHub returns a hub whose first event will have id first (≥ 1).
func newHub(keepDroppable int, first int64) *hub {
	return &hub{next: first, keepDroppable: keepDroppable, notify: make(chan struct{})}
}

// publish appends an event of type typ with v as its JSON data; after an
// "end" event nothing more is published.
func (h *hub) publish(typ string, v any, droppable bool) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return
	}
	h.events = append(h.events, event{id: h.next, typ: typ, data: data, droppable: droppable})
	h.next++
	if droppable {
		h.droppable++
		if h.droppable > 2*h.keepDroppable {
			h.trim()
		}
	}
	if typ == "end" {
		h.ended = true
	}
	close(h.notify)
	h.notify = make(chan struct{})
}

// trim drops the oldest droppable events down to keepDroppable.
func (h *hub) trim() {
	drop := h.droppable - h.keepDroppable
	kept := h.events[:0]
	for _, e := range h.events {
		if e.droppable && drop > 0 {
			drop--
			h.droppable--
			continue
		}
		kept = append(kept, e)
	}
	clear(h.events[len(kept):])
	h.events = kept
}

// since returns the events after id after, a channel closed at the next
// publish, and whether the stream has ended.
func (h *hub) since(after int64) ([]event, <-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.events), func(i int) bool { return h.events[i].id > after })
	return h.events[i:len(h.events):len(h.events)], h.notify, h.ended
}

// lastID returns the id of the latest event (0: none yet).
func (h *hub) lastID() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next - 1
}

// SSE timing.
const (
	pingEvery     = 15 * time.Second
	sseWriteLimit = 30 * time.Second // deadline of each write to a stream
)

// lastEventID reads Last-Event-ID, or the last_event_id query parameter
// (for a first connection that resumes); 0 when absent.
func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("last_event_id", "Last-Event-ID must be a non-negative integer, got %q", v)
	}
	return n, nil
}

// stream serves h's events after id after as text/event-stream until the
// "end" event, the client leaves or the server shuts down, with a ping
// comment every 15 s. Writes have their own deadline, not the server's.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, h *hub, after int64) {
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(f func()) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteLimit))
		f()
		return rc.Flush() == nil
	}
	if !write(func() { fmt.Fprint(w, "retry: 2000\n\n") }) {
		return
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		evs, notify, ended := h.since(after)
		if len(evs) > 0 {
			ok := write(func() {
				for _, e := range evs {
					fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.id, e.typ, e.data)
				}
			})
			if !ok {
				return
			}
			after = evs[len(evs)-1].id
			continue
		}
		if ended {
			return
		}
		select {
		case <-notify:
		case <-ping.C:
			if !write(func() { fmt.Fprint(w, ": ping\n\n") }) {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}
