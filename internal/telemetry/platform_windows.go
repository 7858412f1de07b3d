//go:build windows

package telemetry

import (
	"context"
	"runtime"
	"syscall"
	"unsafe"
)

// defaultRAPLRoot is empty: Windows exposes no RAPL counters to users.
const defaultRAPLRoot = ""

// systemPowerStatus is Win32 SYSTEM_POWER_STATUS.
type systemPowerStatus struct {
	ACLineStatus        byte
	BatteryFlag         byte
	BatteryLifePercent  byte
	SystemStatusFlag    byte
	BatteryLifeTime     uint32
	BatteryFullLifeTime uint32
}

var procGetSystemPowerStatus = syscall.NewLazyDLL("kernel32.dll").NewProc("GetSystemPowerStatus")

// platform names the ARM SoC (the CPU brand string, e.g. "Snapdragon(R) X
// Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU") and reads the power source
// from GetSystemPowerStatus.
func (p *probe) platform(_ context.Context, h *Hardware) {
	if (runtime.GOARCH == "arm64" || runtime.GOARCH == "arm") && h.CPU.Model != nil {
		soc := *h.CPU.Model
		h.SoC = &soc
	}
	if procGetSystemPowerStatus.Find() != nil {
		return
	}
	var st systemPowerStatus
	if r, _, _ := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&st))); r == 0 {
		return
	}
	h.Power = windowsPower(st)
}

// windowsPower interprets SYSTEM_POWER_STATUS: ACLineStatus 1 is mains, 0 is
// battery, 255 unknown; BatteryFlag 128 means no system battery and a life
// percent of 255 means unknown.
func windowsPower(st systemPowerStatus) Power {
	p := Power{Source: PowerUnknown}
	switch st.ACLineStatus {
	case 1:
		p.Source = PowerAC
	case 0:
		p.Source = PowerBattery
	}
	if st.BatteryFlag&128 == 0 && st.BatteryFlag != 255 && st.BatteryLifePercent <= 100 {
		v := float64(st.BatteryLifePercent)
		p.BatteryPercent = &v
	}
	return p.withOnBattery()
}
