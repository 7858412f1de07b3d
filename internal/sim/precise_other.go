//go:build !linux

package sim

import "time"

// threadSleep has no precise implementation on this platform.
func threadSleep(time.Duration) bool { return false }
