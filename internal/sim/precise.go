package sim

import "time"

// preciseSlots bounds how many streams may block an OS thread in a precise
// sleep at once; the others use the (up to 1 ms late) runtime timer.
var preciseSlots = make(chan struct{}, 4)

// preciseSleep sleeps d with sub-millisecond precision by blocking the
// calling OS thread, if a precise slot is free. It reports whether it slept.
func preciseSleep(d time.Duration) bool {
	if d > 2*timerSlack {
		return false
	}
	select {
	case preciseSlots <- struct{}{}:
	default:
		return false
	}
	defer func() { <-preciseSlots }()
	return threadSleep(d)
}
