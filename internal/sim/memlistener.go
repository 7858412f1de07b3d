package sim

import (
	"context"
	"net"
	"sync"
)

// MemListener is an in-memory net.Listener: each DialContext makes a
// net.Pipe and hands one end to Accept. It carries any number of
// connections without file descriptors, so one process can hold more
// concurrent streams than its open-file limit allows. Use it with Serve (or
// an http.Server) on one side and an http.Transport whose DialContext is
// l.DialContext on the other; the address dialled is ignored.
type MemListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

// NewMemListener returns an open MemListener.
func NewMemListener() *MemListener {
	return &MemListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// memAddr is the address of both ends of a MemListener.
type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "flperf-sim.mem" }

// Accept waits for the next dialled connection; after Close it returns
// net.ErrClosed.
func (l *MemListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener; dials fail from then on. Connections already
// accepted stay open. It is safe to call more than once.
func (l *MemListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr returns the listener's in-memory address.
func (l *MemListener) Addr() net.Addr { return memAddr{} }

// DialContext connects to the listener (network and addr are ignored), for
// http.Transport.DialContext. It waits until the server accepts, ctx ends
// (ctx's error) or the listener closes (net.ErrClosed wrapped in a
// *net.OpError, like a refused connection).
func (l *MemListener) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "mem", Addr: memAddr{}, Err: net.ErrClosed}
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}
