package telemetry

import (
	"path/filepath"
	"testing"
)

func TestDRMGPUs(t *testing.T) {
	root := t.TempDir()
	drm := filepath.Join(root, "sys/class/drm")
	pci := filepath.Join(root, "sys/devices/pci0000:00")
	// card0: Intel iGPU (i915); card1: AMD dGPU with VRAM size; card2: a
	// Qualcomm Adreno on a platform bus; card3: simpledrm (display only);
	// card1-DP-1: a connector, not a card.
	for _, c := range []struct {
		card, dev, vendor, device, driver, vram string
	}{
		{"card0", "0000:00:02.0", "0x8086", "0x9a49", "i915", ""},
		{"card1", "0000:03:00.0", "0x1002", "0x73df", "amdgpu", "12868124672"},
		{"card2", "ae00000.display-subsystem", "", "", "msm", ""},
		{"card3", "simple-framebuffer.0", "", "", "simple-framebuffer", ""},
	} {
		dev := filepath.Join(pci, c.dev)
		if c.vendor != "" {
			writeFile(t, filepath.Join(dev, "vendor"), c.vendor+"\n")
			writeFile(t, filepath.Join(dev, "device"), c.device+"\n")
		} else {
			writeFile(t, filepath.Join(dev, "uevent"), "\n")
		}
		if c.vram != "" {
			writeFile(t, filepath.Join(dev, "mem_info_vram_total"), c.vram+"\n")
		}
		symlink(t, filepath.Join(root, "sys/bus/drivers", c.driver), filepath.Join(dev, "driver"))
		symlink(t, dev, filepath.Join(drm, c.card, "device"))
	}
	writeFile(t, filepath.Join(drm, "card1-DP-1", "status"), "connected\n")

	gs := drmGPUs(root, nil)
	if len(gs) != 3 {
		t.Fatalf("%d GPUs: %+v", len(gs), gs)
	}
	if gs[0].Vendor != "intel" || *gs[0].Driver != "i915" || *gs[0].BusID != "0000:00:02.0" ||
		*gs[0].Name != "intel GPU (PCI device 0x9a49)" || gs[0].MemoryTotalMiB != nil || gs[0].Source != "drm" {
		t.Errorf("card0 %+v", gs[0])
	}
	if gs[1].Vendor != "amd" || gs[1].Index != 1 {
		t.Errorf("card1 %+v", gs[1])
	}
	checkF(t, "amd vram", gs[1].MemoryTotalMiB, fp(12868124672.0/(1<<20)))
	if gs[2].Vendor != "qualcomm" || gs[2].BusID != nil || *gs[2].Driver != "msm" {
		t.Errorf("card2 %+v", gs[2])
	}
	// A vendor a tool already reported is not listed twice.
	if gs := drmGPUs(root, map[string]bool{"amd": true}); len(gs) != 2 || gs[1].Vendor != "qualcomm" {
		t.Errorf("skipping amd: %+v", gs)
	}
	if gs := drmGPUs(t.TempDir(), nil); gs != nil {
		t.Errorf("empty tree: %+v", gs)
	}
}

func TestAccelNPUs(t *testing.T) {
	root := t.TempDir()
	accel := filepath.Join(root, "sys/class/accel")
	symlink(t, "../../../bus/pci/drivers/intel_vpu", filepath.Join(accel, "accel0", "device", "driver"))
	symlink(t, "../../../bus/pci/drivers/newnpu", filepath.Join(accel, "accel1", "device", "driver"))
	writeFile(t, filepath.Join(accel, "accel2", "dev"), "261:2\n")
	got := accelNPUs(root)
	want := []string{"Intel NPU (intel_vpu)", "accel2", "newnpu"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestDeviceTree(t *testing.T) {
	root := t.TempDir()
	if soc, board := deviceTree(root); soc != nil || board != nil {
		t.Errorf("no device tree: %v %v", soc, board)
	}
	writeFile(t, filepath.Join(root, "sys/firmware/devicetree/base/compatible"), "lenovo,thinkpad-t14s\x00qcom,x1e78100\x00qcom,x1e80100\x00")
	writeFile(t, filepath.Join(root, "proc/device-tree/model"), "Lenovo ThinkPad T14s Gen 6\x00")
	soc, board := deviceTree(root)
	if soc == nil || *soc != "qcom,x1e80100" || board == nil || *board != "Lenovo ThinkPad T14s Gen 6" {
		t.Errorf("soc %v board %v", soc, board)
	}
}

func TestPowerFromSysfs(t *testing.T) {
	ps := func(t *testing.T, files map[string]string) string {
		root := t.TempDir()
		for p, c := range files {
			writeFile(t, filepath.Join(root, "sys/class/power_supply", p), c)
		}
		return root
	}
	for _, c := range []struct {
		name      string
		files     map[string]string
		source    string
		onBattery *bool
		pct       *float64
	}{
		{"no supplies (server)", map[string]string{}, PowerUnknown, nil, nil},
		{"laptop on mains", map[string]string{
			"AC/type": "Mains\n", "AC/online": "1\n",
			"BAT0/type": "Battery\n", "BAT0/capacity": "80\n", "BAT0/status": "Charging\n",
		}, PowerAC, new(false), fp(80)},
		{"laptop on battery", map[string]string{
			"ADP1/type": "Mains\n", "ADP1/online": "0\n",
			"BAT0/type": "Battery\n", "BAT0/capacity": "40\n", "BAT0/status": "Discharging\n",
			"BAT1/type": "Battery\n", "BAT1/capacity": "60\n", "BAT1/status": "Discharging\n",
			"hidpp_battery_0/type": "Battery\n", "hidpp_battery_0/scope": "Device\n", "hidpp_battery_0/capacity": "5\n",
		}, PowerBattery, new(true), fp(50)},
		{"usb-c charger", map[string]string{
			"ucsi-source-psy-USBC000:001/type": "USB\n", "ucsi-source-psy-USBC000:001/online": "1\n",
			"BAT0/type": "Battery\n", "BAT0/capacity": "0\n", "BAT0/status": "Not charging\n",
		}, PowerAC, new(false), fp(0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := powerFromSysfs(ps(t, c.files))
			if p.Source != c.source {
				t.Errorf("source %q, want %q", p.Source, c.source)
			}
			if (p.OnBattery == nil) != (c.onBattery == nil) || (p.OnBattery != nil && *p.OnBattery != *c.onBattery) {
				t.Errorf("on battery %v, want %v", p.OnBattery, c.onBattery)
			}
			checkF(t, "battery percent", p.BatteryPercent, c.pct)
		})
	}
}

func TestParsePmset(t *testing.T) {
	ac := parsePmset("Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n")
	if ac.Source != PowerAC || ac.OnBattery == nil || *ac.OnBattery {
		t.Errorf("ac %+v", ac)
	}
	checkF(t, "ac pct", ac.BatteryPercent, fp(100))
	bat := parsePmset("Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t57%; discharging; 4:12 remaining present: true\n")
	if bat.Source != PowerBattery || !*bat.OnBattery {
		t.Errorf("battery %+v", bat)
	}
	checkF(t, "battery pct", bat.BatteryPercent, fp(57))
	desk := parsePmset("Now drawing from 'AC Power'\n")
	if desk.Source != PowerAC || desk.BatteryPercent != nil {
		t.Errorf("desktop %+v", desk)
	}
	if u := parsePmset(""); u.Source != PowerUnknown || u.OnBattery != nil {
		t.Errorf("empty %+v", u)
	}
}
