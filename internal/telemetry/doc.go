// Package telemetry describes the machine a benchmark runs on and watches how
// hard it works while the benchmark runs.
//
// Two halves:
//
//   - [Fingerprint] returns a [Hardware] description (CPU, memory, GPUs, NPUs,
//     OS, power source) to be stored with every run. It never includes the
//     host name, serial numbers or other identifiers: results get shared.
//   - [Start] launches a [Sampler] that samples system CPU (total and per
//     core), memory used (excluding page cache), the serving process's CPU and
//     resident memory, every GPU (through nvidia-smi or rocm-smi when they are
//     on PATH) and CPU package power (RAPL, Linux) on a ticker in its own
//     goroutines, for the whole measurement window, with a sample when it
//     starts and one when it stops so that any window between the two is
//     integrated whole. [Sampler.Stop] returns the
//     [Series]; [Summarize] reduces any time window of it to means, peaks and
//     energy.
//
// A figure the platform cannot provide is nil (JSON null or omitted), never 0;
// a real zero stays 0. External tools run with an argument vector (no shell)
// and a short timeout; their absence is normal and not an error.
//
// See docs/metrics.md §9 for what the figures mean.
package telemetry
