//go:build race

package server

// raceOn is true under the race detector, whose instrumentation
// allocates beside the code measured: allocation bounds are not checked
// there (the normal pass checks them).
const raceOn = true
