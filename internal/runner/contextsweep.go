package runner

import (
	"strconv"
	"strings"
)

// SweepScenario is the name of the context sweep's stage of n input tokens.
func SweepScenario(n int) string { return "context-" + strconv.Itoa(n) }

// SweepLength is the input length of a context sweep's scenario name (0:
// not one).
func SweepLength(name string) int {
	s, ok := strings.CutPrefix(name, "context-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0
	}
	return n
}
