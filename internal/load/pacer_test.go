package load

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestConstantPacer(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		rate    float64
		elapsed time.Duration
		sent    uint64
		wait    time.Duration
		stop    bool
	}{
		{"first arrival is due at once", 10, 0, 0, 0, false},
		{"second waits one interval", 10, 0, 1, 100 * ms, false},
		{"part of the interval passed", 10, 30 * ms, 1, 70 * ms, false},
		{"exactly due", 10, 100 * ms, 1, 0, false},
		{"behind schedule sends now", 10, 250 * ms, 1, 0, false},
		{"far ahead", 10, 0, 10, time.Second, false},
		{"absolute, not relative to the last send", 10, 990 * ms, 10, 10 * ms, false},
		{"200/s is 5ms apart", 200, 12 * ms, 3, 3 * ms, false},
		{"fractional rate", 0.5, time.Second, 1, time.Second, false},
		{"thirds round per arrival", 3, 0, 1, 333333333, false},
		{"thirds never drift", 3, 0, 3, time.Second, false},
		{"zero rate stops", 0, 0, 0, 0, true},
		{"negative rate stops", -1, 0, 0, 0, true},
		{"NaN rate stops", math.NaN(), 0, 0, 0, true},
		{"infinite rate stops", math.Inf(1), 0, 0, 0, true},
		{"overflow stops", 1, 0, math.MaxUint64, 0, true},
		{"overflow at a tiny rate stops", 1e-12, 0, 1, 0, true},
		{"tiny rate, first arrival fine", 1e-12, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, stop := ConstantPacer(tt.rate).Pace(tt.elapsed, tt.sent)
			if wait != tt.wait || stop != tt.stop {
				t.Errorf("Pace(%v, %d) at %v/s = (%v, %v), want (%v, %v)", tt.elapsed, tt.sent, tt.rate, wait, stop, tt.wait, tt.stop)
			}
		})
	}
}

func TestConstantPacerAt(t *testing.T) {
	s := ConstantPacer(200).(Schedule)
	for n := uint64(0); n < 1000; n++ {
		at, ok := s.At(n)
		if !ok || at != time.Duration(n)*5*time.Millisecond {
			t.Fatalf("At(%d) = %v, %v; want %v", n, at, ok, time.Duration(n)*5*time.Millisecond)
		}
	}
}

// poissonOffsets returns the first n offsets of a Poisson schedule.
func poissonOffsets(t *testing.T, rate float64, seed int64, n int) []time.Duration {
	t.Helper()
	s := PoissonPacer(rate, seed).(Schedule)
	out := make([]time.Duration, n)
	for i := range out {
		at, ok := s.At(uint64(i))
		if !ok {
			t.Fatalf("At(%d) stopped", i)
		}
		out[i] = at
	}
	return out
}

func TestPoissonPacerMean(t *testing.T) {
	const rate, n = 50.0, 10000
	for _, seed := range []int64{1, 42, -9} {
		offs := poissonOffsets(t, rate, seed, n+1)
		if offs[0] != 0 {
			t.Fatalf("seed %d: first arrival at %v, want 0", seed, offs[0])
		}
		var sum, sumSq float64
		for i := 1; i <= n; i++ {
			gap := (offs[i] - offs[i-1]).Seconds()
			if gap < 0 {
				t.Fatalf("seed %d: arrival %d before arrival %d", seed, i, i-1)
			}
			sum += gap
			sumSq += gap * gap
		}
		mean := sum / n
		sd := math.Sqrt(sumSq/n - mean*mean)
		if want := 1 / rate; math.Abs(mean-want)/want > 0.03 {
			t.Errorf("seed %d: mean gap %.5fs, want %.5fs ± 3%%", seed, mean, want)
		}
		// Exponential gaps: standard deviation equals the mean (constant gaps would give 0).
		if cv := sd / mean; cv < 0.9 || cv > 1.1 {
			t.Errorf("seed %d: coefficient of variation %.3f, want about 1", seed, cv)
		}
	}
}

func TestPoissonPacerDeterministic(t *testing.T) {
	a := poissonOffsets(t, 10, 7, 500)
	b := poissonOffsets(t, 10, 7, 500)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	if c := poissonOffsets(t, 10, 8, 500); slices.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same schedule")
	}
	// A pure function: any order of calls gives the same offsets.
	s := PoissonPacer(10, 7).(Schedule)
	for _, n := range []uint64{499, 3, 250, 0, 251, 17, 17, 499} {
		if at, ok := s.At(n); !ok || at != a[n] {
			t.Errorf("At(%d) out of order = %v, %v; want %v", n, at, ok, a[n])
		}
	}
	// Safe for concurrent use.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				n := uint64((i*37 + g*101) % 500)
				if at, _ := s.At(n); at != a[n] {
					t.Errorf("concurrent At(%d) = %v, want %v", n, at, a[n])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPoissonPacerPace(t *testing.T) {
	offs := poissonOffsets(t, 20, 3, 10)
	p := PoissonPacer(20, 3)
	for n := range offs {
		if wait, stop := p.Pace(0, uint64(n)); wait != offs[n] || stop {
			t.Errorf("Pace(0, %d) = %v, %v; want %v", n, wait, stop, offs[n])
		}
		if wait, stop := p.Pace(offs[n]+time.Millisecond, uint64(n)); wait != 0 || stop {
			t.Errorf("Pace(late, %d) = %v, %v; want 0 (due now)", n, wait, stop)
		}
		if n > 0 && offs[n] > offs[n-1] {
			mid := offs[n-1] + (offs[n]-offs[n-1])/2
			if wait, _ := p.Pace(mid, uint64(n)); wait != offs[n]-mid {
				t.Errorf("Pace(%v, %d) = %v, want %v", mid, n, wait, offs[n]-mid)
			}
		}
	}
	for _, rate := range []float64{0, -3, math.NaN(), math.Inf(1)} {
		if _, stop := PoissonPacer(rate, 1).Pace(0, 0); !stop {
			t.Errorf("rate %v: Pace did not stop", rate)
		}
	}
	// A rate so low that the second arrival overflows a Duration.
	p = PoissonPacer(1e-300, 1)
	if wait, stop := p.Pace(0, 0); wait != 0 || stop {
		t.Errorf("tiny rate: first arrival = %v, %v; want due now", wait, stop)
	}
	if _, stop := p.Pace(0, 5); !stop {
		t.Error("tiny rate: overflowing arrival did not stop")
	}
	if wait, stop := p.Pace(0, 0); wait != 0 || stop {
		t.Errorf("tiny rate: first arrival after overflow = %v, %v; want due now", wait, stop)
	}
}
