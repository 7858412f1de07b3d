package stats

import (
	"slices"
	"sync"
	"sync/atomic"
)

// parallelSamples is the number of samples from which Summary spreads its
// work over GOMAXPROCS goroutines; below it the goroutines would cost more
// than they save.
const parallelSamples = 1 << 16

// taskList is a batch of independent pieces of a Summary's work, each with
// an estimate of its size (samples touched).
type taskList struct {
	tasks []task
}

type task struct {
	size int
	do   func()
}

func (l *taskList) add(size int, do func()) { l.tasks = append(l.tasks, task{size, do}) }

// addDists adds the computation of the distributions of sets[i] into
// ds[i]: the ITL (usually most of the samples) of two sets at a time, those
// of similar sizes together (distSorted2); the other metrics of each set
// together.
func (l *taskList) addDists(ds []*dists, sets []*sampleSet) {
	order := make([]int, len(sets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return len(sets[j][mITL]) - len(sets[i][mITL]) })
	for k := 0; k < len(order); k += 2 {
		if k+1 == len(order) {
			i := order[k]
			l.add(len(sets[i][mITL]), func() { ds[i][mITL] = distSorted(sets[i][mITL]) })
			break
		}
		i, j := order[k], order[k+1]
		l.add(len(sets[i][mITL])+len(sets[j][mITL]), func() {
			ds[i][mITL], ds[j][mITL] = distSorted2(sets[i][mITL], sets[j][mITL])
		})
	}
	for i, s := range sets {
		rest := 0
		var xss [][]float64
		for m := range s {
			if m != mITL {
				rest += len(s[m])
				xss = append(xss, s[m])
			}
		}
		l.add(rest, func() {
			out := make([]Dist, len(xss))
			distsSorted(xss, out)
			k := 0
			for m := range s {
				if m != mITL {
					ds[i][m] = out[k]
					k++
				}
			}
		})
	}
}

// addMerge adds the merging of parts' sorted samples into out, metric by
// metric: the ITL on its own, the other metrics together.
func (l *taskList) addMerge(out *sampleSet, parts []*sampleSet) {
	merge := func(m int) {
		lists := make([][]float64, len(parts))
		for i, p := range parts {
			lists[i] = p[m]
		}
		out[m] = mergeSorted(lists)
	}
	itl, rest := 0, 0
	for _, p := range parts {
		for m := range p {
			if m == mITL {
				itl += len(p[m])
			} else {
				rest += len(p[m])
			}
		}
	}
	l.add(itl, func() { merge(mITL) })
	l.add(rest, func() {
		for m := range out {
			if m != mITL {
				merge(m)
			}
		}
	})
}

// run does every task, the largest first, on up to par goroutines (the
// caller's among them), and empties the list.
func (l *taskList) run(par int) {
	tasks := l.tasks
	l.tasks = l.tasks[:0]
	if par <= 1 || len(tasks) <= 1 {
		for _, t := range tasks {
			t.do()
		}
		return
	}
	slices.SortStableFunc(tasks, func(a, b task) int { return b.size - a.size })
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(tasks) {
				return
			}
			tasks[i].do()
		}
	}
	var wg sync.WaitGroup
	for range min(par, len(tasks)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
