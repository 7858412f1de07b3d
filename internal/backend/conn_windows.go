package backend

import "syscall"

// closedErrnos are the errors of a connection the peer closed.
var closedErrnos = []syscall.Errno{syscall.WSAECONNRESET, syscall.WSAECONNABORTED, syscall.ECONNRESET, syscall.EPIPE}
