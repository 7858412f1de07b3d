package load

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// fields returns the Field of every error, which must all be *FieldError.
func fields(t *testing.T, errs []error) []string {
	t.Helper()
	var out []string
	for _, err := range errs {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v (%T) is not a *FieldError", err, err)
		}
		if !strings.HasPrefix(err.Error(), fe.Field+": ") {
			t.Errorf("error %q does not start with its field %q", err, fe.Field)
		}
		out = append(out, fe.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	ok := Plan{Mode: Concurrency, Concurrency: 4, Requests: 10}
	tests := []struct {
		name   string
		plan   Plan
		fields []string // sorted
		msg    string   // a substring of the joined messages
	}{
		{"sequential", Plan{Mode: Sequential, Requests: 1}, nil, ""},
		{"zero mode is sequential", Plan{Duration: time.Second}, nil, ""},
		{"sequential concurrency 1", Plan{Mode: Sequential, Concurrency: 1, Requests: 1}, nil, ""},
		{"concurrency", ok, nil, ""},
		{"concurrency max", Plan{Mode: Concurrency, Concurrency: MaxWorkers, Requests: 1}, nil, ""},
		{"rate", Plan{Mode: Rate, Rate: 5, Arrival: Poisson, MaxInFlight: 16, Duration: time.Minute, Warmup: 2, Seed: -7}, nil, ""},
		{"rate constant both bounds", Plan{Mode: Rate, Rate: 0.5, Arrival: Constant, Requests: 3, Duration: time.Second}, nil, ""},
		{"constant arrival outside rate", Plan{Mode: Concurrency, Concurrency: 2, Arrival: Constant, Requests: 1}, nil, ""},

		{"unknown mode", Plan{Mode: "burst", Requests: 1}, []string{"mode"}, `got "burst"`},
		{"concurrency 0", Plan{Mode: Concurrency, Requests: 1}, []string{"concurrency"}, "concurrency: must be >= 1, got 0"},
		{"concurrency negative", Plan{Mode: Concurrency, Concurrency: -3, Requests: 1}, []string{"concurrency"}, "got -3"},
		{"concurrency huge", Plan{Mode: Concurrency, Concurrency: MaxWorkers + 1, Requests: 1}, []string{"concurrency"}, "must be <="},
		{"sequential concurrency 4", Plan{Mode: Sequential, Concurrency: 4, Requests: 1}, []string{"concurrency"}, "one request at a time"},
		{"rate with concurrency", Plan{Mode: Rate, Rate: 1, Concurrency: 8, Requests: 1}, []string{"concurrency"}, "max_in_flight"},
		{"rate 0", Plan{Mode: Rate, Requests: 1}, []string{"rate"}, "rate: must be a number > 0"},
		{"rate negative", Plan{Mode: Rate, Rate: -1, Requests: 1}, []string{"rate"}, "got -1"},
		{"rate NaN", Plan{Mode: Rate, Rate: math.NaN(), Requests: 1}, []string{"rate"}, "NaN"},
		{"rate Inf", Plan{Mode: Rate, Rate: math.Inf(1), Requests: 1}, []string{"rate"}, "+Inf"},
		{"rate huge", Plan{Mode: Rate, Rate: 2 * MaxRate, Requests: 1}, []string{"rate"}, "must be <="},
		{"rate outside rate mode", Plan{Mode: Concurrency, Concurrency: 2, Rate: 5, Requests: 1}, []string{"rate"}, "only used in rate mode"},
		{"unknown arrival", Plan{Mode: Rate, Rate: 1, Arrival: "bursty", Requests: 1}, []string{"arrival"}, `got "bursty"`},
		{"poisson outside rate", Plan{Arrival: Poisson, Requests: 1}, []string{"arrival"}, "only used in rate mode"},
		{"cap negative", Plan{Mode: Rate, Rate: 1, MaxInFlight: -1, Requests: 1}, []string{"max_in_flight"}, "got -1"},
		{"cap huge", Plan{Mode: Rate, Rate: 1, MaxInFlight: MaxWorkers + 1, Requests: 1}, []string{"max_in_flight"}, "must be <="},
		{"cap outside rate", Plan{Mode: Concurrency, Concurrency: 2, MaxInFlight: 4, Requests: 1}, []string{"max_in_flight"}, "only used in rate mode"},
		{"unbounded", Plan{Mode: Concurrency, Concurrency: 2}, []string{"requests"}, "never ends"},
		{"requests negative", Plan{Requests: -1, Duration: time.Second}, []string{"requests"}, "got -1"},
		{"duration negative", Plan{Requests: 1, Duration: -time.Second}, []string{"duration"}, "got -1s"},
		{"warmup negative", Plan{Requests: 1, Warmup: -2}, []string{"warmup"}, "warmup: must be >= 0, got -2"},
		{
			"everything at once",
			Plan{Mode: Rate, Concurrency: 3, Rate: -2, Arrival: "x", MaxInFlight: -1, Requests: -1, Duration: -1, Warmup: -1},
			[]string{"arrival", "concurrency", "duration", "max_in_flight", "rate", "requests", "warmup"},
			"",
		},
		{
			"everything at once, closed loop",
			Plan{Mode: Concurrency, Rate: 3, Arrival: Poisson, MaxInFlight: 2, Warmup: -1},
			[]string{"arrival", "concurrency", "max_in_flight", "rate", "requests", "warmup"},
			"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.plan.Validate()
			got := fields(t, errs)
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (errors: %v)", got, tt.fields, errs)
			}
			if tt.msg != "" && !strings.Contains(errors.Join(errs...).Error(), tt.msg) {
				t.Errorf("errors %v do not mention %q", errs, tt.msg)
			}
		})
	}
}

func TestPlanString(t *testing.T) {
	tests := []struct {
		plan Plan
		want string
	}{
		{Plan{}, "sequential"},
		{Plan{Mode: Sequential, Requests: 9, Warmup: 2}, "sequential"},
		{Plan{Mode: Concurrency, Concurrency: 8}, "concurrency=8"},
		{Plan{Mode: Rate, Rate: 5}, "rate=5/s"},
		{Plan{Mode: Rate, Rate: 5, Arrival: Constant}, "rate=5/s"},
		{Plan{Mode: Rate, Rate: 0.5, Arrival: Poisson}, "rate=0.5/s poisson"},
		{Plan{Mode: Rate, Rate: 5, Arrival: Poisson, MaxInFlight: 16}, "rate=5/s poisson cap=16"},
		{Plan{Mode: Rate, Rate: 12.5, MaxInFlight: 4}, "rate=12.5/s cap=4"},
		{Plan{Mode: "odd\nmode"}, `mode="odd\nmode"`},
	}
	for _, tt := range tests {
		if got := tt.plan.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.plan, got, tt.want)
		}
	}
}
