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
