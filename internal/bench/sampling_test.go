package bench

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/telemetry"
)

// TestValidateSampling checks the sampler's options: on at 250 ms by
// default, off with "off" or "0", a given interval and process kept, and
// out-of-range or malformed values named as the caller names the field.
func TestValidateSampling(t *testing.T) {
	base := func() Spec { return Spec{Models: []string{"m"}} }
	s := base()
	rs, err := s.Validate(Check{})
	if err != nil || rs.Sampling == nil || rs.Sampling.Interval != telemetry.DefaultInterval || rs.Sampling.PID != 0 {
		t.Fatalf("default: %+v, %v", rs.Sampling, err)
	}
	for _, off := range []string{"off", "0"} {
		s = base()
		s.SampleInterval = off
		if rs, err := s.Validate(Check{}); err != nil || rs.Sampling != nil {
			t.Errorf("%q: sampling %+v, %v", off, rs.Sampling, err)
		}
	}
	s = base()
	s.SampleInterval, s.EnginePID = "1s", intp(4242)
	if rs, err := s.Validate(Check{}); err != nil || rs.Sampling.Interval != time.Second || rs.Sampling.PID != 4242 {
		t.Errorf("1s, pid 4242: %+v, %v", rs.Sampling, err)
	}
	for _, bad := range []struct{ interval, want string }{{"5ms", "between"}, {"2m", "between"}, {"soon", "want a duration"}, {"-1s", "between"}} {
		s = base()
		s.SampleInterval = bad.interval
		_, err := s.Validate(Check{Name: func(f string) string { return "--" + strings.ReplaceAll(f, "_", "-") }})
		if err == nil || !strings.Contains(err.Error(), "--sample-interval: ") || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v", bad.interval, err)
		}
	}
	s = base()
	s.EnginePID = intp(-3)
	if _, err := s.Validate(Check{}); err == nil || !strings.Contains(err.Error(), "engine_pid") {
		t.Errorf("negative pid: %v", err)
	}
}

// TestSamplingFindsTheEngine checks which process is sampled: this one for
// the built-in simulated engine, the one listening on a loopback
// endpoint's port (here also this process: a real listener of the test),
// none for an engine on another machine, and a given PID as given.
func TestSamplingFindsTheEngine(t *testing.T) {
	ctx := context.Background()
	o := &telemetry.Options{Interval: time.Second}
	if got := samplingFor(ctx, nil, &Engine{Builtin: true}, nil); got != nil {
		t.Errorf("sampling off gave %+v", got)
	}
	if got := samplingFor(ctx, o, &Engine{Builtin: true}, nil); got.PID != int32(os.Getpid()) || got.Interval != time.Second {
		t.Errorf("built-in engine: %+v", got)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	eng := &Engine{Info: engine.Info{Endpoint: "http://" + ln.Addr().String() + "/v1"}}
	if got := samplingFor(ctx, o, eng, nil); got.PID != int32(os.Getpid()) {
		t.Errorf("loopback endpoint served by this process: pid %d, want %d", got.PID, os.Getpid())
	}
	var logged []string
	logf := func(_, msg string) { logged = append(logged, msg) }
	remote := &Engine{Info: engine.Info{Endpoint: "http://192.0.2.7:8000/v1"}}
	if got := samplingFor(ctx, o, remote, logf); got.PID != 0 || len(logged) != 1 || !strings.Contains(logged[0], "not on this machine") {
		t.Errorf("remote engine: %+v, logged %q", got, logged)
	}
	given := &telemetry.Options{Interval: time.Second, PID: 99}
	if got := samplingFor(ctx, given, eng, nil); got.PID != 99 {
		t.Errorf("given pid: %+v", got)
	}
	if o.PID != 0 {
		t.Error("samplingFor changed its input")
	}
}
