//go:build unix

package store

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with this pid exists on this host.
// A process of another user (EPERM) exists; so does a zombie.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
