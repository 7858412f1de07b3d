package telemetry

import (
	"math"
	"strings"
	"testing"
)

func FuzzNvidiaSMILine(f *testing.F) {
	for _, file := range []string{"lms-1gpu.csv", "lms-4xh100.csv", "lms-na.csv", "lms-units.csv", "fingerprint-units.csv", "recorded-h100-lms-load.csv", "recorded-h100-lms-units.csv"} {
		data, err := readFixtureF(f, "nvidia-smi/"+file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f.Add(line)
		}
	}
	f.Add("0, NaN, +Inf, -0, 1e308, 1e309")
	f.Add(",,,,,")
	f.Fuzz(func(t *testing.T, line string) {
		g, err := ParseNvidiaSMILine(line)
		if err != nil {
			return
		}
		if g.Vendor != "nvidia" || g.Index < 0 {
			t.Fatalf("%q: %+v", line, g)
		}
		for _, p := range []*float64{g.UtilPct, g.MemUsedMiB, g.MemTotalMiB, g.PowerW, g.TempC} {
			if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
				t.Fatalf("%q: non-finite value %v", line, *p)
			}
		}
		_, _ = ParseNvidiaSMIFingerprint([]byte(line))
	})
}

func FuzzROCmSMI(f *testing.F) {
	for _, file := range []string{"sample-1gpu.json", "sample-2gpu.json", "sample-na.json", "fingerprint-2gpu.json"} {
		data, err := readFixtureF(f, "rocm-smi/"+file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"card0": {"GPU use (%)": 1e999}}`))
	f.Add([]byte(`{"card99999999999999999999": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := ParseROCmSMI(data)
		if err == nil {
			for _, g := range gs {
				if g.Vendor != "amd" || g.Index < 0 {
					t.Fatalf("%+v", g)
				}
				for _, p := range []*float64{g.UtilPct, g.MemUsedMiB, g.MemTotalMiB, g.PowerW, g.TempC} {
					if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
						t.Fatalf("non-finite value %v", *p)
					}
				}
			}
		}
		_, _ = ParseROCmSMIFingerprint(data)
	})
}
