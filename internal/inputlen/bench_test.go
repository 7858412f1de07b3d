package inputlen

import (
	"context"
	"net/http/httptest"
	"testing"

	"flperf/internal/backend"
	"flperf/internal/sim"
)

// calibrationLengths are the five lengths whose calibration cost README
// quotes (Input lengths).
var calibrationLengths = []int{128, 512, 1024, 2048, 4096}

// BenchmarkCalibrate5Lengths measures what calibrating five lengths costs
// against the built-in simulator's sim-fast profile (25 ms base TTFT,
// 8000 prompt tokens/s, its chat template's 3 tokens): requests sent and
// seconds spent, per five lengths, cache-busting nonces on.
//
//	go test -run XXX -bench Calibrate5 -benchtime 3x ./internal/inputlen/
func BenchmarkCalibrate5Lengths(b *testing.B) {
	p := sim.DefaultProfiles()[0]
	p.Jitter = 0
	s, err := sim.New(p)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	client := backend.New(srv.URL+"/v1", backend.Options{})
	var reqs int
	var secs float64
	for i := 0; b.Loop(); i++ {
		r := New(Options{Sender: client, Seed: int64(i), CacheBust: true})
		for _, n := range calibrationLengths {
			pr, err := r.Prompt(context.Background(), p.Name, n)
			if err != nil || !pr.Exact || pr.Method != MethodCalibration {
				b.Fatalf("%d: %+v %v", n, pr, err)
			}
		}
		st := r.Stats()
		reqs += st.CalibrationRequests
		secs += st.CalibrationTime.Seconds()
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "requests/5lengths")
	b.ReportMetric(secs/float64(b.N), "s/5lengths")
	b.ReportMetric(0, "ns/op")
}
