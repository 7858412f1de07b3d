//go:build race

package sim

// raceOn is true under the race detector, which limits a process to 8,128
// goroutines.
const raceOn = true
