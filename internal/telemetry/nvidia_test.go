package telemetry

import (
	"strings"
	"testing"
)

func TestParseNvidiaSMILineFixtures(t *testing.T) {
	type want struct {
		idx                           int
		util, used, total, power, tmp *float64
	}
	cases := map[string][]want{
		"lms-1gpu.csv": {{0, fp(37), fp(1234), fp(81559), fp(69.88), fp(31)}},
		"lms-4xh100.csv": {
			{0, fp(98), fp(74215), fp(81559), fp(612.45), fp(67)},
			{1, fp(97), fp(74215), fp(81559), fp(598.10), fp(64)},
			{2, fp(0), fp(1), fp(81559), fp(71.23), fp(30)},
			{3, fp(100), fp(80011), fp(81559), fp(699), fp(71)},
		},
		"lms-na.csv": {
			{0, fp(3), fp(456), fp(6144), nil, fp(45)},
			{1, nil, fp(120), fp(2048), nil, nil},
		},
		"lms-units.csv": {
			{0, fp(45), fp(1234), fp(81559), fp(70.12), fp(31)},
			{1, fp(0), fp(0), fp(81559), nil, fp(29)},
		},
	}
	for file, wants := range cases {
		t.Run(file, func(t *testing.T) {
			lines := strings.Split(strings.TrimSpace(string(readFixture(t, "nvidia-smi/"+file))), "\n")
			if len(lines) != len(wants) {
				t.Fatalf("%d lines, want %d", len(lines), len(wants))
			}
			for i, line := range lines {
				g, err := ParseNvidiaSMILine(line)
				if err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
				w := wants[i]
				if g.Index != w.idx || g.Vendor != "nvidia" {
					t.Errorf("line %d: index %d vendor %q, want %d nvidia", i, g.Index, g.Vendor, w.idx)
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

func TestParseNvidiaSMILineValues(t *testing.T) {
	for _, c := range []struct {
		field string
		want  *float64
	}{
		{"0", fp(0)},
		{" 0 ", fp(0)},
		{"45 %", fp(45)},
		{"45%", fp(45)},
		{"1234 MiB", fp(1234)},
		{"70.12 W", fp(70.12)},
		{"70.12W", fp(70.12)},
		{"[N/A]", nil},
		{"N/A", nil},
		{"[Not Supported]", nil},
		{"[Unknown Error]", nil},
		{"", nil},
		{"NaN", nil},
		{"Inf", nil},
		{"1 2 3", nil},
		{"abc", nil},
	} {
		line := "0, " + c.field + ", 1, 2, 3, 4"
		g, err := ParseNvidiaSMILine(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		checkF(t, "util of "+line, g.UtilPct, c.want)
	}
}

func TestParseNvidiaSMILineErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"No devices were found",
		"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
		"0, 1, 2, 3, 4",
		"0, 1, 2, 3, 4, 5, 6",
		"x, 1, 2, 3, 4, 5",
		"-1, 1, 2, 3, 4, 5",
		"index, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W], temperature.gpu",
	} {
		if g, err := ParseNvidiaSMILine(line); err == nil {
			t.Errorf("%q: parsed as %+v, want an error", line, g)
		}
	}
}

func TestParseNvidiaSMIFingerprint(t *testing.T) {
	g1, err := ParseNvidiaSMIFingerprint(readFixture(t, "nvidia-smi/fingerprint-1gpu.csv"))
	if err != nil || len(g1) != 1 {
		t.Fatalf("1 GPU: %v, %d GPUs", err, len(g1))
	}
	if *g1[0].Name != "NVIDIA H100 80GB HBM3" || *g1[0].MemoryTotalMiB != 81559 ||
		*g1[0].Driver != "550.54.15" || *g1[0].BusID != "00000000:18:00.0" ||
		g1[0].Vendor != "nvidia" || g1[0].Source != "nvidia-smi" {
		t.Errorf("1 GPU: %+v", g1[0])
	}

	g4, err := ParseNvidiaSMIFingerprint(readFixture(t, "nvidia-smi/fingerprint-4xh100.csv"))
	if err != nil || len(g4) != 4 {
		t.Fatalf("4 GPUs: %v, %d GPUs", err, len(g4))
	}
	for i, g := range g4 {
		if g.Index != i || *g.Name != "NVIDIA H100 80GB HBM3" {
			t.Errorf("GPU %d: %+v", i, g)
		}
	}
	if *g4[3].BusID != "00000000:5D:00.0" {
		t.Errorf("bus of GPU 3 = %s", *g4[3].BusID)
	}

	gu, err := ParseNvidiaSMIFingerprint(readFixture(t, "nvidia-smi/fingerprint-units.csv"))
	if err != nil || len(gu) != 2 {
		t.Fatalf("units: %v, %d GPUs", err, len(gu))
	}
	checkF(t, "memory with unit", gu[0].MemoryTotalMiB, fp(24564))
	checkF(t, "memory [N/A]", gu[1].MemoryTotalMiB, nil)
	if *gu[1].Name != "Tesla K80" || *gu[1].Driver != "470.256.02" {
		t.Errorf("units GPU 1: %+v", gu[1])
	}

	// A comma in a name does not shift the other fields; a bad line is an
	// error but the good lines are kept.
	gc, err := ParseNvidiaSMIFingerprint([]byte("0, Odd, Name, 100, 1.2, 0000:01:00.0\nNo devices were found\n"))
	if err == nil || len(gc) != 1 || *gc[0].Name != "Odd, Name" || *gc[0].MemoryTotalMiB != 100 {
		t.Errorf("comma in name: %v %+v", err, gc)
	}
}

// TestRecordedH100 parses the output recorded on a real H100 (see
// testdata/README.md).
func TestRecordedH100(t *testing.T) {
	for _, file := range []string{"recorded-h100-fingerprint.csv", "recorded-h100-fingerprint-units.csv"} {
		gs, err := ParseNvidiaSMIFingerprint(readFixture(t, "nvidia-smi/"+file))
		if err != nil || len(gs) != 1 {
			t.Fatalf("%s: %v, %d GPUs", file, err, len(gs))
		}
		g := gs[0]
		if *g.Name != "NVIDIA H100 80GB HBM3" || *g.MemoryTotalMiB != 81559 || *g.Driver != "580.159.04" || *g.BusID != "00000000:00:06.0" {
			t.Errorf("%s: %+v", file, g)
		}
	}
	first := map[string]GPUSample{
		"recorded-h100-lms-idle.csv":  {UtilPct: fp(0), MemUsedMiB: fp(0), MemTotalMiB: fp(81559), PowerW: fp(74.10), TempC: fp(35)},
		"recorded-h100-lms-load.csv":  {UtilPct: fp(95), MemUsedMiB: fp(1011), MemTotalMiB: fp(81559), PowerW: fp(280.32), TempC: fp(50)},
		"recorded-h100-lms-units.csv": {UtilPct: fp(0), MemUsedMiB: fp(0), MemTotalMiB: fp(81559), PowerW: fp(97.84), TempC: fp(35)},
	}
	for file, w := range first {
		lines := strings.Split(strings.TrimSpace(string(readFixture(t, "nvidia-smi/"+file))), "\n")
		if len(lines) < 5 {
			t.Fatalf("%s: %d lines", file, len(lines))
		}
		for i, line := range lines {
			g, err := ParseNvidiaSMILine(line)
			if err != nil {
				t.Fatalf("%s line %d: %v", file, i, err)
			}
			if g.UtilPct == nil || g.MemUsedMiB == nil || g.MemTotalMiB == nil || g.PowerW == nil || g.TempC == nil {
				t.Fatalf("%s line %d: nil figure in %+v", file, i, g)
			}
			if i == 0 {
				checkF(t, file+" util", g.UtilPct, w.UtilPct)
				checkF(t, file+" mem used", g.MemUsedMiB, w.MemUsedMiB)
				checkF(t, file+" mem total", g.MemTotalMiB, w.MemTotalMiB)
				checkF(t, file+" power", g.PowerW, w.PowerW)
				checkF(t, file+" temp", g.TempC, w.TempC)
			}
		}
	}
}
