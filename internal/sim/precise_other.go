//go:build !unix

package sim

import "time"

// threadSleep has no precise implementation on this platform.
func threadSleep(time.Duration) bool { return false }
