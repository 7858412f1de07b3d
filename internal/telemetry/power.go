package telemetry

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// powerFromSysfs reads /sys/class/power_supply under root: mains (or USB)
// online means "ac"; otherwise a system battery that is discharging, or
// mains supplies that are all offline, mean "battery". Peripheral batteries
// (scope "Device": mice, headsets) are ignored.
func powerFromSysfs(root string) Power {
	p := Power{Source: PowerUnknown}
	dir := filepath.Join(root, "sys/class/power_supply")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return p
	}
	var mainsSeen, mainsOnline, discharging bool
	var pctSum float64
	var pctN int
	for _, e := range entries {
		d := filepath.Join(dir, e.Name())
		if scope, _ := readTrim(filepath.Join(d, "scope")); strings.EqualFold(scope, "device") {
			continue
		}
		typ, _ := readTrim(filepath.Join(d, "type"))
		switch strings.ToLower(typ) {
		case "mains", "usb", "usb_c", "usb_pd", "usb_pd_drp", "wireless":
			mainsSeen = true
			if v, err := readUint(filepath.Join(d, "online")); err == nil && v > 0 {
				mainsOnline = true
			}
		case "battery":
			if v, err := readUint(filepath.Join(d, "capacity")); err == nil && v <= 100 {
				pctSum += float64(v)
				pctN++
			}
			if st, _ := readTrim(filepath.Join(d, "status")); strings.EqualFold(st, "discharging") {
				discharging = true
			}
		}
	}
	if pctN > 0 {
		v := pctSum / float64(pctN)
		p.BatteryPercent = &v
	}
	switch {
	case mainsOnline:
		p.Source = PowerAC
	case discharging || (mainsSeen && pctN > 0):
		p.Source = PowerBattery
	}
	return p.withOnBattery()
}

var pmsetPct = regexp.MustCompile(`(\d{1,3})%`)

// parsePmset reads the output of macOS "pmset -g batt":
//
//	Now drawing from 'AC Power'
//	 -InternalBattery-0 (id=…)	95%; charged; 0:00 remaining present: true
func parsePmset(out string) Power {
	p := Power{Source: PowerUnknown}
	switch {
	case strings.Contains(out, "'AC Power'"):
		p.Source = PowerAC
	case strings.Contains(out, "'Battery Power'"):
		p.Source = PowerBattery
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "InternalBattery") {
			continue
		}
		if m := pmsetPct.FindStringSubmatch(line); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil && v <= 100 {
				f := float64(v)
				p.BatteryPercent = &f
			}
		}
		break
	}
	return p.withOnBattery()
}

// withOnBattery sets OnBattery from Source.
func (p Power) withOnBattery() Power {
	if p.Source != PowerUnknown {
		b := p.Source == PowerBattery
		p.OnBattery = &b
	}
	return p
}
