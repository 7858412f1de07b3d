package telemetry

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// raplDomain is one RAPL package domain (…/intel-rapl:N, name "package-N").
type raplDomain struct {
	name   string // "package-0"
	energy string // path of energy_uj
	max    uint64 // max_energy_range_uj; 0 when unknown
	last   uint64
	valid  bool // last holds a reading
}

// raplReader turns RAPL package energy counters into average power between
// two reads. The powercap root is injectable for tests; the default is
// /sys/class/powercap on Linux and none elsewhere.
type raplReader struct {
	domains []raplDomain
	lastAt  time.Time
	notes   *noteLog
	counter counterFunc
}

// counterFunc reads the energy counter file at path, at time now (the
// real one, readCounter, ignores now; a test's fake may compute its
// counter from it).
type counterFunc func(path string, now time.Time) (uint64, error)

// readCounter reads a RAPL energy_uj file.
func readCounter(path string, _ time.Time) (uint64, error) { return readUint(path) }

// openRAPL finds the package domains under root and takes a first reading
// at time at. It returns nil when there are none or they are not readable
// (since Linux 5.10 energy_uj is readable by root only), noting why once.
// counter nil means readCounter.
func openRAPL(root string, counter counterFunc, at time.Time, notes *noteLog) *raplReader {
	if counter == nil {
		counter = readCounter
	}
	if root == "" {
		return nil
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "intel-rapl:*"))
	var ds []raplDomain
	for _, dir := range dirs {
		name, err := readTrim(filepath.Join(dir, "name"))
		if err != nil || !strings.HasPrefix(name, "package-") {
			continue
		}
		d := raplDomain{name: name, energy: filepath.Join(dir, "energy_uj")}
		if s, err := readTrim(filepath.Join(dir, "max_energy_range_uj")); err == nil {
			d.max, _ = strconv.ParseUint(s, 10, 64)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].name < ds[j].name })
	r := &raplReader{domains: ds, notes: notes, counter: counter}
	if _, err := counter(ds[0].energy, at); err != nil {
		notes.addf("RAPL package energy is not readable (%v); package power is null", trimPathErr(err))
		return nil
	}
	r.read(at)
	return r
}

// names returns the domain names, in order.
func (r *raplReader) names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.domains))
	for i, d := range r.domains {
		out[i] = d.name
	}
	return out
}

// read returns the total package power in watts averaged since the previous
// read, or nil when any domain could not be read now or before, or when a
// counter went backwards without a known wrap range.
func (r *raplReader) read(now time.Time) *float64 {
	if r == nil {
		return nil
	}
	dt := now.Sub(r.lastAt)
	first := r.lastAt.IsZero()
	r.lastAt = now
	var totalUJ float64
	ok := !first && dt > 0
	for i := range r.domains {
		d := &r.domains[i]
		cur, err := r.counter(d.energy, now)
		if err != nil {
			r.notes.addf("RAPL %s energy could not be read (%v); package power is null at those times", d.name, trimPathErr(err))
			d.valid = false
			ok = false
			continue
		}
		if d.valid {
			switch {
			case cur >= d.last:
				totalUJ += float64(cur - d.last)
			case d.max > 0 && d.last <= d.max:
				// The counter wrapped at max_energy_range_uj.
				totalUJ += float64(d.max-d.last) + float64(cur)
			default:
				ok = false
			}
		} else {
			ok = false
		}
		d.last, d.valid = cur, true
	}
	if !ok {
		return nil
	}
	w := totalUJ / (float64(dt) / float64(time.Microsecond))
	return &w
}

// readTrim reads a small sysfs file and trims blanks and NULs.
func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.Trim(string(b), " \t\r\n\x00"), nil
}

// readUint reads a sysfs file holding one unsigned integer.
func readUint(path string) (uint64, error) {
	s, err := readTrim(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// trimPathErr drops the path from a *os.PathError, keeping the reason.
func trimPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
