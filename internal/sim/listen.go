package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Listen opens a TCP listener for the simulator on addr (host:port),
// "127.0.0.1:0" when addr is empty. The host must be "localhost" or a
// loopback address: the simulator never listens on a network.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("sim: refusing to listen on %q: the simulated engine binds loopback only (use 127.0.0.1:PORT)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return ln, nil
}

// shutdownGrace is how long Serve lets requests in flight finish on their
// own once its context is done, before cancelling them.
const shutdownGrace = time.Second

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully:
// it stops accepting, gives requests in flight a second to finish, cancels
// those still running (their streams end without [DONE]), and returns once
// every handler has returned. It returns nil after a shutdown, or the
// listener's error if serving fails first. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		hs.Close()
		return fmt.Errorf("sim: %w", err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	err := hs.Shutdown(grace)
	cancel()
	if err != nil {
		// Cancel what is still running; handlers watch their request
		// context and return promptly.
		cancelBase()
		wait, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = hs.Shutdown(wait)
		cancel()
		if err != nil {
			hs.Close()
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}
