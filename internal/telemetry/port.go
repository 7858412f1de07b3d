package telemetry

import (
	"context"
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v4/net"
)

// ErrNoListener is returned by PIDForPort when no visible process listens on
// the port.
var ErrNoListener = errors.New("no visible process listens on the port")

// PIDForPort returns the id of the process listening on the TCP port (IPv4
// or IPv6, any address), for Options.PID. Only processes this user may
// inspect are seen: a server run by another user gives ErrNoListener, and
// the sampler then reports no process figures.
func PIDForPort(ctx context.Context, port int) (int32, error) {
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("port %d out of range", port)
	}
	conns, err := net.ConnectionsWithContext(ctx, "tcp")
	if err != nil {
		return 0, fmt.Errorf("listing TCP sockets: %w", err)
	}
	for _, c := range conns {
		if c.Status == "LISTEN" && c.Laddr.Port == uint32(port) && c.Pid > 0 {
			return c.Pid, nil
		}
	}
	return 0, fmt.Errorf("port %d: %w", port, ErrNoListener)
}
