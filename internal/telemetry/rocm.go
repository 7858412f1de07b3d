package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// rocmSMI is the AMD tool's executable name.
const rocmSMI = "rocm-smi"

// ROCmSMISampleArgs is the argument vector (after the executable name) of
// one rocm-smi poll of the Sampler, parsed by ParseROCmSMI. Next to the use,
// power and temperature figures it asks for VRAM in bytes (--showmeminfo
// vram), so that memory is reported in MiB like NVIDIA's, not as a share.
var ROCmSMISampleArgs = []string{
	"--showuse", "--showmemuse", "--showpower", "--showtemp", "--showmeminfo", "vram", "--json",
}

// ROCmSMIFingerprintArgs is the argument vector (after the executable name) of
// the one-shot rocm-smi query used by Fingerprint, parsed by
// ParseROCmSMIFingerprint. It asks for nothing that identifies the unit
// (no serial, no unique id).
var ROCmSMIFingerprintArgs = []string{
	"--showproductname", "--showmeminfo", "vram", "--showdriverversion", "--showbus", "--json",
}

// Keys rocm-smi uses, compared case-insensitively (its capitalisation
// changed between releases: "Card series" / "Card Series").
const (
	rocmUse        = "gpu use (%)"
	rocmVRAMTotal  = "vram total memory (b)"
	rocmVRAMUsed   = "vram total used memory (b)"
	rocmPowerAvg   = "average graphics package power (w)"
	rocmPowerSock  = "current socket graphics package power (w)"
	rocmTempEdge   = "temperature (sensor edge) (c)"
	rocmTempJunct  = "temperature (sensor junction) (c)"
	rocmDeviceName = "device name"
	rocmCardSeries = "card series"
	rocmPCIBus     = "pci bus"
	rocmDriver     = "driver version"
)

// rocmCard is one "cardN" object with lower-cased keys and values kept as
// text (rocm-smi prints strings, but numbers are accepted too).
type rocmCard map[string]string

// decodeROCm decodes rocm-smi --json output into its cards (by index) and
// its "system" object. Text before the first "{" (warnings rocm-smi prints on
// some systems) and after the JSON value is ignored.
func decodeROCm(data []byte) (cards map[int]rocmCard, system rocmCard, err error) {
	i := bytes.IndexByte(data, '{')
	if i < 0 {
		return nil, nil, errors.New("rocm-smi: no JSON object in output")
	}
	var top map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data[i:])).Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("rocm-smi: %w", err)
	}
	cards = make(map[int]rocmCard)
	for k, raw := range top {
		lk := strings.ToLower(strings.TrimSpace(k))
		switch {
		case lk == "system":
			system = decodeROCmObject(raw)
		case strings.HasPrefix(lk, "card"):
			idx, err := strconv.Atoi(lk[len("card"):])
			if err != nil || idx < 0 || idx > 1<<16 {
				continue
			}
			if c := decodeROCmObject(raw); c != nil {
				cards[idx] = c
			}
		}
	}
	return cards, system, nil
}

// decodeROCmObject decodes one object of string (or number) values; other
// value types are skipped. It returns nil when raw is not an object.
func decodeROCmObject(raw json.RawMessage) rocmCard {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil
	}
	c := make(rocmCard, len(obj))
	for k, v := range obj {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(v, &n); err != nil {
				continue
			}
			s = n.String()
		}
		c[strings.ToLower(strings.TrimSpace(k))] = s
	}
	return c
}

// num returns the first key of keys whose value is a finite number.
func (c rocmCard) num(keys ...string) *float64 {
	for _, k := range keys {
		if v, ok := c[k]; ok {
			if p := parseSMIValue(v); p != nil {
				return p
			}
		}
	}
	return nil
}

// mib returns a byte count under key converted to MiB.
func (c rocmCard) mib(key string) *float64 {
	p := c.num(key)
	if p == nil {
		return nil
	}
	v := *p / (1 << 20)
	return &v
}

// str returns the first key of keys with a usable text value.
func (c rocmCard) str(keys ...string) *string {
	for _, k := range keys {
		if p := smiString(c[k]); p != nil {
			return p
		}
	}
	return nil
}

// sortedIndexes returns the card indexes in increasing order.
func sortedIndexes(cards map[int]rocmCard) []int {
	idx := make([]int, 0, len(cards))
	for i := range cards {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

// ParseROCmSMI parses the JSON printed by rocm-smi run with
// ROCmSMISampleArgs into one GPUSample per "cardN" object, ordered by N:
// utilisation from "GPU use (%)", memory from "VRAM Total Used Memory (B)"
// and "VRAM Total Memory (B)" (converted to MiB), power from "Average
// Graphics Package Power (W)" or else "Current Socket Graphics Package Power
// (W)" (MI300 and later), temperature from "Temperature (Sensor edge) (C)"
// or else the junction sensor. Missing keys and "N/A" values give nil.
func ParseROCmSMI(data []byte) ([]GPUSample, error) {
	cards, _, err := decodeROCm(data)
	if err != nil {
		return nil, err
	}
	out := make([]GPUSample, 0, len(cards))
	for _, i := range sortedIndexes(cards) {
		c := cards[i]
		out = append(out, GPUSample{
			Index:       i,
			Vendor:      "amd",
			UtilPct:     c.num(rocmUse),
			MemUsedMiB:  c.mib(rocmVRAMUsed),
			MemTotalMiB: c.mib(rocmVRAMTotal),
			PowerW:      c.num(rocmPowerAvg, rocmPowerSock),
			TempC:       c.num(rocmTempEdge, rocmTempJunct),
		})
	}
	return out, nil
}

// ParseROCmSMIFingerprint parses the JSON printed by rocm-smi run with
// ROCmSMIFingerprintArgs: name from "Device Name" or "Card Series", memory
// from "VRAM Total Memory (B)", bus from "PCI Bus", and the driver from the
// "system" object's "Driver version".
func ParseROCmSMIFingerprint(data []byte) ([]GPU, error) {
	cards, system, err := decodeROCm(data)
	if err != nil {
		return nil, err
	}
	driver := system.str(rocmDriver)
	out := make([]GPU, 0, len(cards))
	for _, i := range sortedIndexes(cards) {
		c := cards[i]
		out = append(out, GPU{
			Index:          i,
			Vendor:         "amd",
			Name:           c.str(rocmDeviceName, rocmCardSeries),
			MemoryTotalMiB: c.mib(rocmVRAMTotal),
			Driver:         driver,
			BusID:          c.str(rocmPCIBus),
			Source:         rocmSMI,
		})
	}
	return out, nil
}
