//go:build !race

package server

// raceOn is true under the race detector (see race_on_test.go).
const raceOn = false
