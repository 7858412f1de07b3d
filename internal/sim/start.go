package sim

import "context"

// Running is a simulated engine serving on a loopback port in this process.
type Running struct {
	*Server
	URL    string // OpenAI base URL, ending in /v1
	cancel context.CancelFunc
	done   chan struct{}
}

// Start serves profiles on addr (empty: a free 127.0.0.1 port) until Close.
func Start(addr string, profiles ...Profile) (*Running, error) {
	srv, err := New(profiles...)
	if err != nil {
		return nil, err
	}
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Server: srv, URL: "http://" + ln.Addr().String() + "/v1", cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = srv.Serve(ctx, ln)
	}()
	return r, nil
}

// Close stops serving (requests in flight get a short grace period) and
// waits until the server is down.
func (r *Running) Close() {
	r.cancel()
	<-r.done
}
