package tokens

import (
	"slices"
	"strings"
	"testing"
)

func TestPieces(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \n", nil},
		{"hello", []string{"hello"}},
		{" hello world ", []string{" hello", " world "}},
		{"abcdefg", []string{"abcdef", "g"}},
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{"naïve", []string{"na", "ï", "ve"}},
		{"日本", []string{"日", "本"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
	}
	for _, c := range cases {
		if got := Pieces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Pieces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPieces checks the promise the simulated engine's tokenizer rests
// on: as many pieces as Estimate counts, and the pieces are the text.
func FuzzPieces(f *testing.F) {
	for _, s := range []string{"", "a b c", "\xff\xfe", "日本語 text, 42!", "snake_case_identifier  \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Pieces(s)
		if len(p) != Estimate(s) {
			t.Fatalf("Pieces(%q) has %d pieces, Estimate says %d", s, len(p), Estimate(s))
		}
		if j := strings.Join(p, ""); len(p) > 0 && j != s {
			t.Fatalf("Pieces(%q) joined is %q", s, j)
		}
	})
}
