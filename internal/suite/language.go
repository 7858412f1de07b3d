package suite

import (
	"fmt"
	"strings"
)

// maxLanguageLen is the longest language tag accepted, in bytes.
const maxLanguageLen = 64

// CheckLanguage reports whether tag is a well-formed BCP 47 language tag
// (RFC 5646 §2.1): a primary language of 2–3 letters (with up to three
// 3-letter extended subtags) or 4–8 letters, then optionally a 4-letter
// script, a region (2 letters or 3 digits), variants, extensions and a
// private-use part, separated by hyphens, letters in any case. It checks
// the form, not the registry: "en", "zh-Hans", "pt-BR", "sr-Latn-RS" and
// "es-419" pass; "e", "en_US", "Eng1" and "zh-" do not.
func CheckLanguage(tag string) error {
	if tag == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(tag) > maxLanguageLen {
		return fmt.Errorf("must be at most %d characters, got %d", maxLanguageLen, len(tag))
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a BCP 47 language tag such as \"en\", \"zh-Hans\" or \"pt-BR\": %s", tag, why)
	}
	sub := strings.Split(tag, "-")
	for _, s := range sub {
		if s == "" {
			return bad("empty subtag")
		}
		if !isAlnum(s) {
			return bad(fmt.Sprintf("subtag %q has a character other than a letter or digit", s))
		}
	}
	i := 0
	switch p := sub[0]; {
	case len(p) >= 2 && len(p) <= 8 && isAlpha(p):
	default:
		return bad(fmt.Sprintf("the primary language subtag %q must be 2 to 8 letters", p))
	}
	i++
	if len(sub[0]) <= 3 { // extlang
		for n := 0; n < 3 && i < len(sub) && len(sub[i]) == 3 && isAlpha(sub[i]); n++ {
			i++
		}
	}
	if i < len(sub) && len(sub[i]) == 4 && isAlpha(sub[i]) { // script
		i++
	}
	if i < len(sub) && (len(sub[i]) == 2 && isAlpha(sub[i]) || len(sub[i]) == 3 && isDigits(sub[i])) { // region
		i++
	}
	for i < len(sub) && (len(sub[i]) >= 5 && len(sub[i]) <= 8 || len(sub[i]) == 4 && isDigits(sub[i][:1])) { // variants
		i++
	}
	for i < len(sub) && len(sub[i]) == 1 { // extensions, then private use
		single := strings.ToLower(sub[i])
		i++
		n := 0
		for i < len(sub) && (single == "x" && len(sub[i]) <= 8 || single != "x" && len(sub[i]) >= 2 && len(sub[i]) <= 8) {
			i, n = i+1, n+1
		}
		if n == 0 {
			return bad(fmt.Sprintf("the singleton %q needs a subtag after it", single))
		}
		if single == "x" {
			break
		}
	}
	if i < len(sub) {
		return bad(fmt.Sprintf("subtag %q is out of place", sub[i]))
	}
	return nil
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'z') {
			return false
		}
	}
	return true
}
