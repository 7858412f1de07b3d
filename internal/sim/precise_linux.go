//go:build linux

package sim

import (
	"syscall"
	"time"
)

// threadSleep blocks the OS thread for d with nanosleep(2); the Go runtime
// keeps other goroutines running on other threads meanwhile.
func threadSleep(d time.Duration) bool {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return err == nil
		}
		ts = rem
	}
}
