package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// levelsFlag is --concurrency or --rate: one load level ("4") or a list of
// them ("1,2,4,8"), each a stage of every model × scenario. The last use of
// the flag wins, as for any single-valued flag.
type levelsFlag struct {
	vals    []float64
	integer bool // concurrency: whole numbers
}

func (l *levelsFlag) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(l.vals))
	for i, v := range l.vals {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (l *levelsFlag) Set(s string) error {
	var vals []float64
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			return fmt.Errorf("empty value in %q", s)
		}
		if l.integer {
			n, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("not a whole number: %q", p)
			}
			vals = append(vals, float64(n))
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", p)
		}
		vals = append(vals, v)
	}
	l.vals = vals
	return nil
}

// ints is the levels as whole numbers.
func (l *levelsFlag) ints() []int {
	out := make([]int, len(l.vals))
	for i, v := range l.vals {
		out[i] = int(v)
	}
	return out
}
