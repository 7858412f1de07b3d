package telemetry

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// These readers take the file-system root as an argument so that tests can
// point them at a fake tree; only the Linux build calls them with "/".

var cardRE = regexp.MustCompile(`^card([0-9]+)$`)

// pciVendors maps PCI vendor ids to the vendor names used in GPU.Vendor.
var pciVendors = map[string]string{
	"0x10de": "nvidia",
	"0x1002": "amd",
	"0x1022": "amd",
	"0x8086": "intel",
	"0x5143": "qualcomm",
	"0x106b": "apple",
	"0x1414": "microsoft",
	"0x15ad": "vmware",
	"0x1af4": "virtio",
	"0x1b36": "qemu",
	"0x1234": "qemu",
	"0x1a03": "aspeed",
	"0x102b": "matrox",
}

// socGPUDrivers names the vendor of GPUs that sit on a platform bus (no PCI
// vendor id), by kernel driver.
var socGPUDrivers = map[string]string{
	"msm":       "qualcomm",
	"msm_dpu":   "qualcomm",
	"panfrost":  "arm",
	"panthor":   "arm",
	"lima":      "arm",
	"v3d":       "broadcom",
	"vc4-drm":   "broadcom",
	"asahi":     "apple",
	"etnaviv":   "vivante",
	"tegra":     "nvidia",
	"mediatek":  "mediatek",
	"pvr":       "imagination",
	"powervr":   "imagination",
	"rockchip":  "rockchip",
	"sun4i-drm": "allwinner",
}

// drmGPUs lists /sys/class/drm/cardN entries under root, skipping vendors in
// skip (those a vendor tool already reported) and display-only devices with
// neither a PCI vendor id nor a known GPU driver.
func drmGPUs(root string, skip map[string]bool) []GPU {
	entries, err := os.ReadDir(filepath.Join(root, "sys/class/drm"))
	if err != nil {
		return nil
	}
	var out []GPU
	for _, e := range entries {
		m := cardRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		idx, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		dev := filepath.Join(root, "sys/class/drm", e.Name(), "device")
		driver := linkBase(filepath.Join(dev, "driver"))
		vendorID, _ := readTrim(filepath.Join(dev, "vendor"))
		vendorID = strings.ToLower(vendorID)
		var vendor string
		switch {
		case vendorID != "":
			vendor = pciVendors[vendorID]
			if vendor == "" {
				vendor = "pci:" + vendorID
			}
		case socGPUDrivers[driver] != "":
			vendor = socGPUDrivers[driver]
		default:
			continue
		}
		if skip[vendor] {
			continue
		}
		g := GPU{Index: idx, Vendor: vendor, Driver: nonEmpty(driver), Source: "drm"}
		name := vendor + " GPU"
		if id, err := readTrim(filepath.Join(dev, "device")); err == nil && id != "" {
			name = fmt.Sprintf("%s GPU (PCI device %s)", vendor, strings.ToLower(id))
		}
		g.Name = &name
		if b, err := readUint(filepath.Join(dev, "mem_info_vram_total")); err == nil && b > 0 {
			mib := float64(b) / (1 << 20)
			g.MemoryTotalMiB = &mib
		}
		if vendorID != "" {
			g.BusID = nonEmpty(linkBase(dev))
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// npuDrivers gives readable names to the kernel drivers of /sys/class/accel.
var npuDrivers = map[string]string{
	"intel_vpu":  "Intel NPU",
	"amdxdna":    "AMD XDNA NPU",
	"qaic":       "Qualcomm Cloud AI 100",
	"habanalabs": "Intel Gaudi",
	"rocket":     "Rockchip NPU",
	"ethosu":     "Arm Ethos-U NPU",
}

// accelNPUs lists /sys/class/accel/accelN devices under root, by driver.
func accelNPUs(root string) []string {
	entries, err := os.ReadDir(filepath.Join(root, "sys/class/accel"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "accel") {
			continue
		}
		driver := linkBase(filepath.Join(root, "sys/class/accel", e.Name(), "device", "driver"))
		switch {
		case npuDrivers[driver] != "":
			out = append(out, fmt.Sprintf("%s (%s)", npuDrivers[driver], driver))
		case driver != "":
			out = append(out, driver)
		default:
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// deviceTree returns the SoC (last "compatible" entry) and board model from
// the Linux device tree under root, each nil when absent.
func deviceTree(root string) (soc, board *string) {
	for _, p := range []string{"sys/firmware/devicetree/base/compatible", "proc/device-tree/compatible"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		parts := strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 || r == '\n' })
		if len(parts) > 0 {
			soc = nonEmpty(parts[len(parts)-1])
			break
		}
	}
	for _, p := range []string{"proc/device-tree/model", "sys/firmware/devicetree/base/model"} {
		if s, err := readTrim(filepath.Join(root, p)); err == nil && s != "" {
			board = nonEmpty(s)
			break
		}
	}
	return soc, board
}

// linkBase returns the last element of the symbolic link's target, or ""
// when path is not a readable link.
func linkBase(path string) string {
	t, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}
