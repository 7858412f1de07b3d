package suite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveBuiltin(t *testing.T) {
	s, err := Resolve("default")
	if err != nil || s.Source != "builtin:default" || len(s.Scenarios) != 10 {
		t.Fatalf("Resolve(default) = %v, %v", s, err)
	}
}

func TestResolveRefusesNamesAsPaths(t *testing.T) {
	for _, arg := range []string{
		"../../etc/passwd", "default/../x", "a/b", `a\b`, "..", "../default",
		"/etc/passwd", "unknown", "Default", "default.yaml", "",
	} {
		loaded := false
		spy := func(p string) (*Suite, error) {
			loaded = true
			return nil, errors.New("should not be called")
		}
		s, err := resolve(arg, spy)
		if err == nil || s != nil {
			t.Errorf("resolve(%q) = %v, nil; want an error", arg, s)
			continue
		}
		if loaded {
			t.Errorf("resolve(%q) touched the filesystem", arg)
		}
		if arg != "" && !strings.Contains(err.Error(), "default") {
			t.Errorf("resolve(%q) error does not list the builtins: %v", arg, err)
		}
	}
	_, err := Resolve("../../etc/passwd")
	if err == nil || !strings.Contains(err.Error(), "never looked up as paths") {
		t.Errorf(`Resolve("../../etc/passwd") = %v`, err)
	}
}

func TestResolveJSONPath(t *testing.T) {
	var got []string
	spy := func(p string) (*Suite, error) {
		got = append(got, p)
		return &Suite{Name: "spy"}, nil
	}
	for _, arg := range []string{"my.json", "dir/../suite.JSON", "default.json"} {
		if s, err := resolve(arg, spy); err != nil || s.Name != "spy" {
			t.Errorf("resolve(%q) = %v, %v; want the loader's suite", arg, s, err)
		}
	}
	if strings.Join(got, ",") != "my.json,dir/../suite.JSON,default.json" {
		t.Errorf("loader called with %v", got)
	}

	path := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(path, []byte(doc(`{"name":"a","prompt":"p"}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(path)
	if err != nil || s.Source != path || s.Scenarios[0].Name != "a" {
		t.Errorf("Resolve(%q) = %+v, %v", path, s, err)
	}
	if _, err := Resolve(filepath.Join(t.TempDir(), "absent.json")); err == nil {
		t.Error("missing .json file resolved")
	}
}
