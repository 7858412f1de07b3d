package backend

import (
	"testing"
	"unicode/utf8"
)

// countPieces counts s written to a runeCounter in pieces cut at cuts.
func countPieces(s []byte, cuts []int) int {
	var c runeCounter
	prev := 0
	for _, at := range cuts {
		at = min(max(at, prev), len(s))
		c.Write(s[prev:at])
		prev = at
	}
	c.Write(s[prev:])
	return c.Count()
}

// TestRuneCounterSplits cuts multi-byte characters of several scripts (and
// invalid bytes) at every byte boundary, one and two cuts at a time.
func TestRuneCounterSplits(t *testing.T) {
	for _, s := range []string{
		"héllo", "日本語のテキスト", "हिन्दी", "العربية", "Русский", "한국어", "😀👍🏽 emoji",
		"\xe6\x97", "a\xe6\x97b", "\xff\xfe", "\xf0\x9f\x98", "\xf0\x9f\x98\x80\x80", "\xed\xa0\x80", "\xc0\xaf", "",
	} {
		b := []byte(s)
		want := utf8.RuneCountInString(s)
		for i := 0; i <= len(b); i++ {
			for j := i; j <= len(b); j++ {
				if got := countPieces(b, []int{i, j}); got != want {
					t.Fatalf("%q cut at %d and %d: %d runes, want %d", s, i, j, got, want)
				}
			}
		}
		var c runeCounter
		for k := range b {
			c.Write(b[k : k+1])
		}
		if got := c.Count(); got != want {
			t.Errorf("%q byte by byte: %d runes, want %d", s, got, want)
		}
	}
}

// FuzzRuneCounter checks the count of any bytes written in any pieces
// against utf8.RuneCountInString of the whole.
func FuzzRuneCounter(f *testing.F) {
	f.Add([]byte("日本語 text"), []byte{1, 2, 3})
	f.Add([]byte("\xf0\x9f\x98\x80\xe6\x97"), []byte{1, 1, 1, 1})
	f.Add([]byte("हिन्दी العربية"), []byte{5, 0, 7})
	f.Fuzz(func(t *testing.T, s, sizes []byte) {
		var c runeCounter
		rest := s
		for _, n := range sizes {
			k := min(int(n%9), len(rest))
			c.Write(rest[:k])
			rest = rest[k:]
		}
		c.Write(rest)
		if got, want := c.Count(), utf8.RuneCountInString(string(s)); got != want {
			t.Fatalf("%q in pieces %v: %d runes, want %d", s, sizes, got, want)
		}
	})
}

// TestRuneCounterNoAlloc: counting is allocation-free.
func TestRuneCounterNoAlloc(t *testing.T) {
	p := []byte("日本語のテキスト")
	var c runeCounter
	if n := testing.AllocsPerRun(100, func() { c.Write(p[:4]); c.Write(p[4:]) }); n != 0 {
		t.Errorf("%v allocations per write pair, want 0", n)
	}
}
