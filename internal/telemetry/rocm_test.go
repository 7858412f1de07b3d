package telemetry

import "testing"

func TestParseROCmSMIFixtures(t *testing.T) {
	const mib = 1 << 20
	type want struct {
		idx                           int
		util, used, total, power, tmp *float64
	}
	cases := map[string][]want{
		"sample-1gpu.json": {{0, fp(0), fp(1572745216.0 / mib), fp(12868124672.0 / mib), fp(6), fp(45)}},
		"sample-2gpu.json": {
			{0, fp(97), fp(30064771072.0 / mib), fp(34342961152.0 / mib), fp(236), fp(53)},
			{1, fp(0), fp(6750208.0 / mib), fp(34342961152.0 / mib), fp(44), fp(55)},
		},
		// MI300X: no edge sensor (junction used), socket power; card1 all N/A.
		"sample-na.json": {
			{0, fp(0), fp(297263104.0 / mib), fp(205822885888.0 / mib), fp(139), fp(41)},
			{1, nil, nil, nil, nil, nil},
		},
	}
	for file, wants := range cases {
		t.Run(file, func(t *testing.T) {
			gs, err := ParseROCmSMI(readFixture(t, "rocm-smi/"+file))
			if err != nil {
				t.Fatal(err)
			}
			if len(gs) != len(wants) {
				t.Fatalf("%d GPUs, want %d", len(gs), len(wants))
			}
			for i, w := range wants {
				g := gs[i]
				if g.Index != w.idx || g.Vendor != "amd" {
					t.Errorf("GPU %d: index %d vendor %q", i, g.Index, g.Vendor)
				}
				checkF(t, "util", g.UtilPct, w.util)
				checkF(t, "mem used", g.MemUsedMiB, w.used)
				checkF(t, "mem total", g.MemTotalMiB, w.total)
				checkF(t, "power", g.PowerW, w.power)
				checkF(t, "temp", g.TempC, w.tmp)
			}
		})
	}
}

func TestParseROCmSMIOddInput(t *testing.T) {
	for _, in := range []string{"", "WARNING: no JSON", "{", `["card0"]`} {
		if _, err := ParseROCmSMI([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	// Numbers instead of strings, keys in other case, non-card keys and
	// cards that are not objects are all tolerated.
	gs, err := ParseROCmSMI([]byte(`{"CARD2": {"gpu use (%)": 12.5, "Average Graphics Package Power (W)": "0.0"}, "card1": "oops", "cardX": {}, "system": {}}`))
	if err != nil || len(gs) != 1 {
		t.Fatalf("%v %+v", err, gs)
	}
	if gs[0].Index != 2 {
		t.Errorf("index %d", gs[0].Index)
	}
	checkF(t, "numeric util", gs[0].UtilPct, fp(12.5))
	checkF(t, "real zero power", gs[0].PowerW, fp(0))
	checkF(t, "absent temp", gs[0].TempC, nil)
}

func TestParseROCmSMIFingerprint(t *testing.T) {
	gs, err := ParseROCmSMIFingerprint(readFixture(t, "rocm-smi/fingerprint-2gpu.json"))
	if err != nil || len(gs) != 2 {
		t.Fatalf("%v, %d GPUs", err, len(gs))
	}
	if *gs[0].Name != "Navi 22 [Radeon RX 6700/6700 XT / 6800M]" || *gs[1].Name != "Aqua Vanjaram [Instinct MI300X]" {
		t.Errorf("names %q %q", *gs[0].Name, *gs[1].Name)
	}
	for _, g := range gs {
		if g.Driver == nil || *g.Driver != "6.7.0" || g.Vendor != "amd" || g.Source != "rocm-smi" {
			t.Errorf("%+v", g)
		}
	}
	checkF(t, "vram", gs[1].MemoryTotalMiB, fp(205822885888.0/(1<<20)))
	if *gs[1].BusID != "0000:0C:00.0" {
		t.Errorf("bus %s", *gs[1].BusID)
	}
}
