package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// fileName is the database file's name inside the data directory.
const fileName = "flperf.db"

// DefaultPath returns where the database lives when no --db (or FLPERF_DB,
// which the CLI reads) says otherwise: on Linux and other Unix systems
// $XDG_DATA_HOME/flperf/flperf.db, else ~/.local/share/flperf/flperf.db; on
// macOS ~/Library/Application Support/flperf/flperf.db; on Windows
// %LocalAppData%\flperf\flperf.db. It creates nothing.
func DefaultPath() (string, error) {
	return defaultPath(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

// defaultPath is DefaultPath for a given OS and environment.
func defaultPath(goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	var dir string
	switch goos {
	case "windows":
		dir = getenv("LocalAppData")
		if dir == "" {
			return "", errors.New("store: %LocalAppData% is not set; pass --db to say where the database goes")
		}
	case "darwin", "ios":
		h, err := home()
		if err != nil || h == "" {
			return "", errors.New("store: no home directory; pass --db to say where the database goes")
		}
		dir = filepath.Join(h, "Library", "Application Support")
	default:
		// XDG: a relative XDG_DATA_HOME is invalid and ignored.
		if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
			dir = x
			break
		}
		h, err := home()
		if err != nil || h == "" {
			return "", errors.New("store: no home directory ($HOME) and no $XDG_DATA_HOME; pass --db to say where the database goes")
		}
		dir = filepath.Join(h, ".local", "share")
	}
	return filepath.Join(dir, "flperf", fileName), nil
}
