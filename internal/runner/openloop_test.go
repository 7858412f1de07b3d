package runner

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
)

// slotsProfile is a simulated engine of 4 slots whose every request of the
// accuracy suite (40 tokens, no jitter) holds a slot for exactly
// TTFT + 39/DecodeTPS = 20ms + 97.5ms: it serves at most 4/0.1175 ≈ 34
// requests per second.
var slotsProfile = sim.Profile{Name: "slots4", TTFT: 20 * time.Millisecond, DecodeTPS: 400, Slots: 4, Usage: true, Seed: 3}

// simCapacity is slotsProfile's capacity in requests per second.
func simCapacity() float64 {
	hold := slotsProfile.TTFT + time.Duration(39*float64(time.Second)/slotsProfile.DecodeTPS)
	return float64(slotsProfile.Slots) / hold.Seconds()
}

// testDetector is the detector scaled to a stage of seconds.
var testDetector = load.Oversaturation{Window: 2 * time.Second, MinArrivals: 20, Sustain: 500 * time.Millisecond}

// At twice the engine's capacity the queue only grows: the detector stops
// the stage long before its 20 seconds, and the run says why, whether the
// queue is the engine's (no cap) or the client's (max-in-flight, queue).
func TestOversaturatedStageStopsEarly(t *testing.T) {
	rate := 2 * simCapacity()
	for _, cap := range []int{0, 4} {
		t.Run(fmt.Sprintf("max_in_flight=%d", cap), func(t *testing.T) {
			s := startSim(t, slotsProfile)
			cfg := Config{Mode: load.Rate, Rate: rate, Arrival: load.Constant, MaxInFlight: cap, Duration: Duration(20 * time.Second),
				Seed: 1, Oversaturation: testDetector}
			res, recs := runAgainst(t, s, slotsProfile.Name, cfg)
			if len(res.Suite.OpenLoop) != 1 || res.Suite.OpenLoop[0].Oversaturated == nil {
				t.Fatalf("open-loop stages %+v, want one stopped over-saturated", res.Suite.OpenLoop)
			}
			o := res.Suite.OpenLoop[0]
			why := o.Oversaturated
			if planned := int(rate * 20); len(recs) >= planned/2 || o.Requests != len(recs) || o.Arrivals != len(recs)-cfg.Warmup {
				t.Errorf("%d records, %d requests, %d arrivals of the %d planned: the stage was not stopped early", len(recs), o.Requests, o.Arrivals, planned)
			}
			// In flight grows at rate − capacity = half the rate; the
			// detector saw at least its threshold and never more than
			// the arrivals.
			t.Logf("rate %.1f/s: %s", rate, why)
			if why.InFlightSlope < 0.1*rate || why.InFlightSlope > rate || why.TTFTSlope <= 0 || why.Rate != rate || why.ElapsedS < 2.5 {
				t.Errorf("reason %+v", why)
			}
			if ws := strings.Join(res.Warnings, "\n"); !strings.Contains(ws, "over-saturated: model slots4") || !strings.Contains(ws, "stopped early") {
				t.Errorf("warnings %q", res.Warnings)
			}
			if res.Status != Completed {
				t.Errorf("status %s: a detector's stop is not the user's interrupt", res.Status)
			}
			for _, r := range recs {
				if r.Outcome != record.OK {
					t.Fatalf("record %d: %s: the requests in flight at the stop must finish", r.Seq, r.Outcome)
				}
			}
		})
	}
}

// At half the engine's capacity nothing queues for long: the detector never
// stops the stage, whatever the Poisson seed.
func TestHalfCapacityNeverStops(t *testing.T) {
	rate := simCapacity() / 2
	for seed := range int64(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			s := startSim(t, slotsProfile)
			cfg := Config{Mode: load.Rate, Rate: rate, Arrival: load.Poisson, Duration: Duration(8 * time.Second),
				Seed: seed, Oversaturation: testDetector}
			res, recs := runAgainst(t, s, slotsProfile.Name, cfg)
			if len(res.Suite.OpenLoop) != 0 {
				t.Fatalf("stopped at half capacity: %s", res.Suite.OpenLoop[0].String())
			}
			// Every arrival of the 8s schedule was sent.
			sched := load.PoissonPacer(rate, seed).(load.Schedule)
			want := 0
			for {
				at, ok := sched.At(uint64(want))
				if !ok || at >= 8*time.Second {
					break
				}
				want++
			}
			if len(recs) != want {
				t.Errorf("%d records, want the schedule's %d arrivals", len(recs), want)
			}
		})
	}
}

// Under --on-full drop an arrival that finds max-in-flight requests in
// flight is not sent: dropped = arrivals − requests sent, exactly, on a
// constant schedule of 100 arrivals; at twice the capacity of 4 slots
// busy for 117.5ms each, at most 4 + 4 × ⌈1.46s/117.5ms⌉ = 56 can be
// sent. Dropped arrivals are not requests: the error rate stays 0.
func TestDropCountsArrivalsBeyondTheCap(t *testing.T) {
	s := startSim(t, slotsProfile)
	rate := 2 * simCapacity()
	cfg := Config{Mode: load.Rate, Rate: rate, Arrival: load.Constant, MaxInFlight: 4, OnFull: load.Drop, Requests: 100, Seed: 1}
	res, recs := runAgainst(t, s, slotsProfile.Name, cfg)
	if len(res.Suite.OpenLoop) != 1 {
		t.Fatalf("open-loop stages %+v", res.Suite.OpenLoop)
	}
	o := res.Suite.OpenLoop[0]
	if o.Arrivals != 100 || o.Dropped != o.Arrivals-len(recs) || o.Dropped < 44 || o.OnFull != load.Drop || o.Oversaturated != nil {
		t.Fatalf("arrivals %d, dropped %d, %d records; want 100 arrivals, dropped = arrivals − records ≥ 44", o.Arrivals, o.Dropped, len(recs))
	}
	g := res.Groups[0]
	if g.Requests != len(recs) || g.ErrorRate != 0 {
		t.Errorf("group: %d requests, error rate %v; want the %d sent, 0", g.Requests, g.ErrorRate, len(recs))
	}
	if ws := strings.Join(res.Warnings, "\n"); !strings.Contains(ws, fmt.Sprintf("%d of 100 arrivals dropped", o.Dropped)) {
		t.Errorf("warnings %q", res.Warnings)
	}
	// The configuration and the stage read back from JSON as they were.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Config.OnFull != load.Drop || len(back.Suite.OpenLoop) != 1 || back.Suite.OpenLoop[0] != o {
		t.Errorf("JSON round trip: config %+v, open loop %+v", back.Config, back.Suite.OpenLoop)
	}
}

// The detector's options are kept in the configuration in their text form.
func TestConfigOversaturationJSON(t *testing.T) {
	for _, c := range []struct {
		o    load.Oversaturation
		want string
	}{
		{load.Oversaturation{}, ``},
		{load.Oversaturation{Off: true}, `"oversaturation":"off"`},
		{load.Oversaturation{Window: 30 * time.Second, Growth: 0.2}, `"oversaturation":"window=30s,growth=0.2"`},
	} {
		b, err := json.Marshal(Config{Mode: load.Rate, Rate: 1, Oversaturation: c.o})
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" && strings.Contains(string(b), "oversaturation") || c.want != "" && !strings.Contains(string(b), c.want) {
			t.Errorf("%+v: %s", c.o, b)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil || back.Oversaturation != c.o || back.Plan().Oversaturation != c.o {
			t.Errorf("%s read back as %+v, %v", b, back.Oversaturation, err)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"oversaturation":"growth=7"}`), &c); err == nil {
		t.Error("a stored detector option out of range was read")
	}
}
