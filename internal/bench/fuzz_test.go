package bench

import (
	"encoding/json"
	"testing"
)

// FuzzSpec checks that any JSON run request is either refused with
// problems that each name a field, or gives a plan that load accepts:
// never a panic, never a valid-looking run with a bad plan.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		`{"models":["m"]}`,
		`{"models":["m"],"mode":"rate","rate":5,"arrival":"poisson","max_in_flight":4,"requests":9}`,
		`{"models":["m"],"concurrency":8,"duration":"30s","requests":0,"timeout":"1s","temperature":0,"seed":3}`,
		`{"models":["a","b"],"scenarios":["code"],"warmup":0,"cold":true,"slo":"ttft=1s"}`,
		`{"models":["m"],"mode":"sequential","concurrency":2,"rate":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		r, err := s.Validate(Check{ModelsRequired: true})
		if err != nil {
			p, ok := err.(Problems)
			if !ok || len(p) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, e := range p {
				if e.Problem == "" {
					t.Fatalf("empty problem for %q", e.Field)
				}
			}
			return
		}
		if errs := r.Config.Plan().Validate(); len(errs) > 0 {
			t.Fatalf("accepted a bad plan: %v", errs)
		}
		if len(r.Config.Models) == 0 || len(r.Scenarios) == 0 || r.Config.Timeout <= 0 {
			t.Fatalf("accepted %+v", r.Config)
		}
	})
}
