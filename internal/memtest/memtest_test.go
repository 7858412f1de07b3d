package memtest

import "testing"

var sink [][]byte

// TestPeakHeap: 64 MiB held during fn is seen (nearly all of it: the heap
// before fn may hold garbage that the first collection frees), and a
// function that allocates nothing lasting reads near zero.
func TestPeakHeap(t *testing.T) {
	const mib = 1 << 20
	got := PeakHeap(func() {
		for range 64 {
			sink = append(sink, make([]byte, mib))
		}
	})
	sink = nil
	if got < 60*mib {
		t.Errorf("peak growth %d MiB while holding 64 MiB", got/mib)
	}
	if idle := PeakHeap(func() {}); idle > 8*mib {
		t.Errorf("peak growth %d MiB for a function that allocates nothing", idle/mib)
	}
}
