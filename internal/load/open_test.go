package load

import (
	"context"
	"testing"
	"time"

	"flperf/internal/record"
)

func TestOpenLoopCapped(t *testing.T) {
	const (
		n     = 40
		slots = 4
		sleep = 50 * time.Millisecond
	)
	f := &fake{sleep: sleep}
	p := Plan{Mode: Rate, Rate: 200, Requests: n, MaxInFlight: slots}
	recs := bySeq(t, drain(t, Run(context.Background(), p, f.do)))
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	if pk := f.peak.Load(); pk != slots {
		t.Errorf("peak in flight %d, want the cap %d", pk, slots)
	}
	var maxWait time.Duration
	for i, r := range recs {
		if job := f.jobOf(t, r.Seq); job.Index != i {
			t.Errorf("Seq %d has Index %d", r.Seq, job.Index)
		}
		if r.Worker < 0 || r.Worker >= slots {
			t.Errorf("Seq %d: slot %d outside [0,%d)", r.Seq, r.Worker, slots)
		}
		// Absolute schedule: exactly 5ms apart whatever the lateness.
		if d := r.Scheduled.Sub(recs[0].Scheduled); d != time.Duration(i)*5*time.Millisecond {
			t.Errorf("Seq %d scheduled %v after the first, want %v", r.Seq, d, time.Duration(i)*5*time.Millisecond)
		}
		if r.Sent.Before(r.Scheduled) {
			t.Errorf("Seq %d sent %v before its scheduled time", r.Seq, r.Scheduled.Sub(r.Sent))
		}
		maxWait = max(maxWait, r.QueueWait())
	}
	// 4 slots of 50ms serve at most 80/s: the last of 40 arrivals (due at
	// 195ms) cannot be sent before 9 rounds of 50ms, so it queued >= 255ms.
	if maxWait < 9*sleep-39*5*time.Millisecond {
		t.Errorf("longest queue wait %v, want >= %v", maxWait, 9*sleep-39*5*time.Millisecond)
	}
}

func TestOpenLoopPoissonSchedule(t *testing.T) {
	const n = 30
	f := &fake{}
	p := Plan{Mode: Rate, Rate: 500, Arrival: Poisson, Seed: 11, Requests: n}
	recs := bySeq(t, drain(t, Run(context.Background(), p, f.do)))
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	s := PoissonPacer(500, 11).(Schedule)
	for i, r := range recs {
		want, _ := s.At(uint64(i))
		if d := r.Scheduled.Sub(recs[0].Scheduled); d != want {
			t.Errorf("Seq %d scheduled at +%v, want +%v from the seeded schedule", r.Seq, d, want)
		}
	}
}

func TestOpenLoopDuration(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		want int
	}{
		// Arrivals due at 0, 10, …, 190ms: exactly 20.
		{"duration only", Plan{Mode: Rate, Rate: 100, Duration: 200 * time.Millisecond}, 20},
		{"requests first", Plan{Mode: Rate, Rate: 100, Requests: 3, Duration: time.Hour}, 3},
		{"duration first", Plan{Mode: Rate, Rate: 100, Requests: 100, Duration: 50 * time.Millisecond}, 5},
		{"capped", Plan{Mode: Rate, Rate: 100, MaxInFlight: 2, Duration: 100 * time.Millisecond}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{sleep: 5 * time.Millisecond}
			recs := bySeq(t, drain(t, Run(context.Background(), tt.plan, f.do)))
			if len(recs) != tt.want {
				t.Fatalf("%d records, want %d", len(recs), tt.want)
			}
			for _, r := range recs {
				if d := r.Scheduled.Sub(recs[0].Scheduled); d >= tt.plan.Duration {
					t.Errorf("Seq %d due %v after the first, past %v", r.Seq, d, tt.plan.Duration)
				}
			}
		})
	}
}

func TestWarmupOpenLoop(t *testing.T) {
	f := &fake{sleep: 2 * time.Millisecond}
	recs := drain(t, Run(context.Background(), Plan{Mode: Rate, Rate: 1000, Requests: 5, Warmup: 2}, f.do))
	checkWarmups(t, f, recs, 2, 5)
}

// TestWarmupNotInDuration: the measured duration starts after the warm-ups,
// so slow warm-ups do not eat the measured schedule.
func TestWarmupNotInDuration(t *testing.T) {
	slowWarm := func(ctx context.Context, job Job) (r record.Record) {
		if job.Warmup {
			time.Sleep(120 * time.Millisecond)
		}
		return r
	}
	recs := drain(t, Run(context.Background(), Plan{Mode: Rate, Rate: 100, Duration: 100 * time.Millisecond, Warmup: 2}, slowWarm))
	if got := len(measured(recs)); got != 10 || len(recs) != 12 {
		t.Fatalf("%d records of which %d measured, want 12 and 10", len(recs), got)
	}
}
