//go:build !windows

package backend

import "syscall"

// closedErrnos are the errors of a connection the peer closed.
var closedErrnos = []syscall.Errno{syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED}
