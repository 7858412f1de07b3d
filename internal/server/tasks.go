package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"sync"
	"time"

	"flperf/internal/engine"
)

// Task limits.
const (
	keepTasks     = 100                    // finished tasks remembered
	taskEvery     = 250 * time.Millisecond // at most 4 task events a second
	keepTaskEvent = 50                     // task snapshots kept for resuming clients
)

// Task is a model download going on or done.
type Task struct {
	ID      string     `json:"id"`
	Kind    string     `json:"kind"` // "pull"
	Engine  string     `json:"engine"`
	Model   string     `json:"model"`
	State   string     `json:"state"`   // running, done, failed, canceled
	Percent *float64   `json:"percent"` // 0–100; null: unknown yet
	Message string     `json:"message"` // the engine's own words
	Error   string     `json:"error"`
	Started time.Time  `json:"started"`
	Ended   *time.Time `json:"ended"`
}

// task is a Task with its event stream.
type task struct {
	mu     sync.Mutex
	t      Task
	last   time.Time // of the last task event
	hub    *hub
	cancel context.CancelFunc
}

// snapshot returns the task's state.
func (t *task) snapshot() Task {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.t
}

// tasks are the downloads.
type tasks struct {
	mu    sync.Mutex
	byID  map[string]*task
	order []string
	wg    sync.WaitGroup
}

func newTasks() *tasks { return &tasks{byID: map[string]*task{}} }

// taskIDRe is what a task id looks like.
var taskIDRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// start runs fn as a task; its progress reports become task events, at
// most four a second (the last one always).
func (ts *tasks) start(parent context.Context, kind, engineID, model string, fn func(context.Context, func(engine.Progress)) error) Task {
	var b [8]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithCancel(parent)
	t := &task{t: Task{ID: hex.EncodeToString(b[:]), Kind: kind, Engine: engineID, Model: model, State: "running", Started: time.Now().UTC()},
		hub: newHub(keepTaskEvent, 1), cancel: cancel}
	t.hub.publish("task", t.t, true)
	ts.mu.Lock()
	ts.byID[t.t.ID] = t
	ts.order = append(ts.order, t.t.ID)
	for len(ts.order) > keepTasks {
		if old := ts.byID[ts.order[0]]; old != nil && old.snapshot().State == "running" {
			break
		}
		delete(ts.byID, ts.order[0])
		ts.order = ts.order[1:]
	}
	ts.wg.Add(1)
	ts.mu.Unlock()
	go func() {
		defer ts.wg.Done()
		defer cancel()
		err := fn(ctx, t.progress)
		now := time.Now().UTC()
		t.mu.Lock()
		t.t.Ended = &now
		switch {
		case err == nil:
			t.t.State = "done"
			hundred := 100.0
			t.t.Percent = &hundred
		case ctx.Err() != nil:
			t.t.State, t.t.Error = "canceled", "canceled: the app is shutting down"
		default:
			t.t.State, t.t.Error = "failed", err.Error()
		}
		snap := t.t
		t.mu.Unlock()
		t.hub.publish("task", snap, true)
		t.hub.publish("end", struct{}{}, false)
	}()
	return t.snapshot()
}

// progress takes one progress report of the download.
func (t *task) progress(p engine.Progress) {
	t.mu.Lock()
	if p.Percent >= 0 {
		v := min(p.Percent, 100)
		t.t.Percent = &v
	}
	if p.Status != "" {
		t.t.Message = p.Status
	}
	if time.Since(t.last) < taskEvery && !p.Done {
		t.mu.Unlock()
		return
	}
	t.last = time.Now()
	snap := t.t
	t.mu.Unlock()
	t.hub.publish("task", snap, true)
}

// get returns task id, or nil.
func (ts *tasks) get(id string) *task {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byID[id]
}

// cancelAll cancels every task.
func (ts *tasks) cancelAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.byID {
		t.cancel()
	}
}

// wait returns when every task has ended.
func (ts *tasks) wait() { ts.wg.Wait() }

// lookupTask finds the task of the request's {id}.
func (s *Server) lookupTask(r *http.Request) (*task, error) {
	id := r.PathValue("id")
	if !taskIDRe.MatchString(id) {
		return nil, badRequest("id", "%s is not a task id", quote(id))
	}
	t := s.tasks.get(id)
	if t == nil {
		return nil, notFound("no task %s (finished tasks are forgotten after a while, and at restart)", id)
	}
	return t, nil
}

// handleTask answers GET /tasks/{id}.
func (s *Server) handleTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.lookupTask(r)
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, t.snapshot())
}

// handleTaskEvents answers GET /tasks/{id}/events.
func (s *Server) handleTaskEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	t, err := s.lookupTask(r)
	if err != nil {
		return err
	}
	s.stream(w, r, t.hub, after)
	return nil
}
