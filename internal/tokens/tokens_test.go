package tokens

import "testing"

func TestEstimate(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"   \n\t", 0},
		{"hello", 1},
		{" hello world", 2},
		{"abcdef", 1},
		{"abcdefg", 2},
		{"Hello, world!", 4},
		{"x := y + 1", 6},
		{"naïve", 3},
		{"日本語", 3},
		{"snake_case_identifier", 4},
	}
	for _, c := range cases {
		if got := Estimate(c.in); got != c.want {
			t.Errorf("Estimate(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func FuzzEstimate(f *testing.F) {
	for _, s := range []string{"", "a b c", "\xff\xfe", "日本語 text, 42!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Estimate(s)
		if n < 0 || n > len(s) {
			t.Fatalf("Estimate(%q) = %d, outside [0, %d]", s, n, len(s))
		}
	})
}

// TestCounterSplits checks that Counter equals Estimate of the whole text
// for every split of texts mixing words, punctuation, runes and invalid
// UTF-8 into two and three pieces.
func TestCounterSplits(t *testing.T) {
	for _, s := range []string{"", "hello world", "naïve café", "日本語 text, 42!", "\xe6\x97", "\xe6\xe6\x97\xa5x", "a\xf0\x9f\x98\x80b", "\xf0\x9f\x98", "abcdefghijklm_n op"} {
		want := Estimate(s)
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				var c Counter
				c.Write([]byte(s[:i]))
				c.Write([]byte(s[i:j]))
				c.Write([]byte(s[j:]))
				if got := c.Count(); got != want {
					t.Fatalf("%q split at %d, %d: Count %d, Estimate %d", s, i, j, got, want)
				}
			}
		}
	}
}

// FuzzCounter checks Counter against Estimate on arbitrary text written in
// pieces of arbitrary sizes.
func FuzzCounter(f *testing.F) {
	f.Add("日本語 text, 42!", []byte{1, 2, 3})
	f.Add("\xe6\xe6\x97\xa5x", []byte{1, 1})
	f.Fuzz(func(t *testing.T, s string, cuts []byte) {
		var c Counter
		rest := s
		for _, k := range cuts {
			k := min(int(k)%8, len(rest))
			c.Write([]byte(rest[:k]))
			rest = rest[k:]
		}
		c.Write([]byte(rest))
		if got, want := c.Count(), Estimate(s); got != want {
			t.Fatalf("%q in pieces %v: Count %d, Estimate %d", s, cuts, got, want)
		}
	})
}
