package report

import (
	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// HardwareText is the machine in one line, as the terminal report's
// "Machine" line writes it ("" when the run recorded no hardware).
func HardwareText(h *telemetry.Hardware) string { return hardwareLine(h) }

// LoadText is the run's load plan in words, as the terminal report's
// "Load" line writes it.
func LoadText(c *runner.Config) string { return loadLabel(c) }

// RequestText is the run's request settings in words, as the terminal
// report's "Request" line writes it.
func RequestText(c *runner.Config) string { return requestLabel(c) }
