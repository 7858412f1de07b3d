package store

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	home := func() (string, error) { return "/home/ada", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name, goos string
		env        map[string]string
		home       func() (string, error)
		want       string
	}{
		{"linux", "linux", nil, home, "/home/ada/.local/share/flperf/flperf.db"},
		{"xdg", "linux", map[string]string{"XDG_DATA_HOME": "/data"}, home, "/data/flperf/flperf.db"},
		{"relative xdg is ignored", "freebsd", map[string]string{"XDG_DATA_HOME": "rel"}, home, "/home/ada/.local/share/flperf/flperf.db"},
		{"xdg without home", "linux", map[string]string{"XDG_DATA_HOME": "/data"}, noHome, "/data/flperf/flperf.db"},
		{"macos", "darwin", map[string]string{"XDG_DATA_HOME": "/data"}, home, "/home/ada/Library/Application Support/flperf/flperf.db"},
		{"windows", "windows", map[string]string{"LocalAppData": "/Users/ada/AppData/Local"}, home, "/Users/ada/AppData/Local/flperf/flperf.db"},
	} {
		got, err := defaultPath(c.goos, env(c.env), c.home)
		if err != nil || filepath.ToSlash(got) != c.want {
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct{ goos string }{{"linux"}, {"darwin"}, {"windows"}} {
		if p, err := defaultPath(c.goos, env(nil), noHome); err == nil {
			t.Errorf("%s without a home: %q", c.goos, p)
		}
	}
	if p, err := DefaultPath(); err != nil || filepath.Base(p) != "flperf.db" || !filepath.IsAbs(p) {
		t.Errorf("DefaultPath() = %q, %v", p, err)
	}
}
