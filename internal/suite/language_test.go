package suite

import (
	"strings"
	"testing"
	"unicode"
)

func TestCheckLanguage(t *testing.T) {
	for _, tag := range []string{"en", "EN", "zh-Hans", "zh-Hant-TW", "pt-BR", "es-419", "sr-Latn-RS", "de-CH-1996",
		"zh-yue-HK", "en-US-x-twain", "x-whatever", "ast", "en-a-bbb-x-a-ccc"} {
		if tag == "x-whatever" {
			continue // a private-use-only tag names no language: refused below
		}
		if err := CheckLanguage(tag); err != nil {
			t.Errorf("CheckLanguage(%q): %v", tag, err)
		}
	}
	for tag, why := range map[string]string{
		"":                        "empty",
		"english-language-tag-x":  "out of place",
		"e":                       "2 to 8 letters",
		"x-whatever":              "2 to 8 letters",
		"en-":                     "empty subtag",
		"en--US":                  "empty subtag",
		"en_US":                   "letter or digit",
		"日本語":                     "letter or digit",
		"en-US-a":                 "needs a subtag",
		"12":                      "2 to 8 letters",
		"en-abcdefghi":            "out of place",
		strings.Repeat("ab-", 30): "at most 64",
		"en-US-US":                "out of place",
	} {
		err := CheckLanguage(tag)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckLanguage(%q) = %v, want an error saying %q", tag, err, why)
		}
	}
}

// scriptOf names the script of the letters of s that are not Latin when
// there are any (Han and kana together are Japanese), else "Latin".
func scriptOf(s string) string {
	tables := []struct {
		name string
		t    *unicode.RangeTable
	}{{"Hangul", unicode.Hangul}, {"Kana", unicode.Hiragana}, {"Kana", unicode.Katakana}, {"Han", unicode.Han},
		{"Devanagari", unicode.Devanagari}, {"Arabic", unicode.Arabic}, {"Cyrillic", unicode.Cyrillic}}
	for _, tb := range tables {
		for _, r := range s {
			if unicode.Is(tb.t, r) {
				return tb.name
			}
		}
	}
	return "Latin"
}

// TestBuiltinMultilingual: every scenario of the multilingual suite carries
// a language, named in its scenario name; 8+ languages in 6+ scripts, each
// with the same tasks, and each prompt written in its language's script.
func TestBuiltinMultilingual(t *testing.T) {
	s, ok := Builtin("multilingual")
	if !ok {
		t.Fatal(`Builtin("multilingual") missing`)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	wantScript := map[string]string{"en": "Latin", "es": "Latin", "de": "Latin", "zh-Hans": "Han", "ja": "Kana",
		"hi": "Devanagari", "ar": "Arabic", "ru": "Cyrillic", "ko": "Hangul"}
	tasks := map[string]map[string]bool{} // language → categories
	scripts := map[string]bool{}
	names := map[string]string{} // language → the language name in the scenario names
	for _, sc := range s.Scenarios {
		if sc.Language == "" {
			t.Fatalf("scenario %q has no language", sc.Name)
		}
		if err := CheckLanguage(sc.Language); err != nil {
			t.Fatal(err)
		}
		_, lang, ok := strings.Cut(sc.Name, " - ")
		if !ok || lang == "" {
			t.Fatalf("scenario %q does not name its language", sc.Name)
		}
		if prev, seen := names[sc.Language]; seen && prev != lang {
			t.Errorf("language %s is called %q and %q", sc.Language, prev, lang)
		}
		names[sc.Language] = lang
		got := scriptOf(sc.Prompt)
		if want, ok := wantScript[sc.Language]; !ok || got != want {
			t.Errorf("scenario %q (%s): prompt in script %s, want %s", sc.Name, sc.Language, got, want)
		}
		scripts[got] = true
		if tasks[sc.Language] == nil {
			tasks[sc.Language] = map[string]bool{}
		}
		tasks[sc.Language][sc.Category] = true
	}
	if len(tasks) < 8 || len(scripts) < 6 {
		t.Errorf("%d languages in %d scripts, want 8+ in 6+", len(tasks), len(scripts))
	}
	for lang, cs := range tasks {
		if len(cs) != 3 || !cs["Question"] || !cs["Summary"] || !cs["Creative"] {
			t.Errorf("language %s has tasks %v, want Question, Summary, Creative", lang, cs)
		}
	}
}
