package suite

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// libraryNameRe is what a saved suite may be called: it is also its file
// name (NAME.json) in the library's directory.
var libraryNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Errors of a Library, matched with errors.Is.
var (
	// ErrNoSuite: no saved suite has that name.
	ErrNoSuite = errors.New("no such saved suite")
	// ErrExists: a suite of that name is already saved (create only).
	ErrExists = errors.New("a suite of that name is already saved")
	// ErrBuiltinName: the name is a built-in suite's, which a saved one may
	// not shadow.
	ErrBuiltinName = errors.New("the name of a built-in suite")
)

// StaleError is returned by Save and Remove when the saved suite is no
// longer the revision the caller read: someone else saved it meanwhile.
type StaleError struct {
	Name    string // the suite
	Want    string // the revision the caller read
	Current string // the revision saved now ("" when it was deleted)
}

// Error says what happened and what to do.
func (e *StaleError) Error() string {
	if e.Current == "" {
		return fmt.Sprintf("suite %q was deleted since it was read (revision %s)", e.Name, e.Want)
	}
	return fmt.Sprintf("suite %q was changed since it was read: revision %s is saved now, not %s; reload it (or save a copy under another name)", e.Name, e.Current, e.Want)
}

// Library is a directory of saved suites, one NAME.json file each, in the
// suite format Parse reads. It is the one place user suites live: the app
// saves the suites made in its editor there, and `flperf run --suite NAME`
// finds them there (LibraryDir: "suites" next to the database). Writes go
// to a temporary file renamed into place, so a reader never sees half a
// file; each file's revision (Revision) guards against lost updates.
type Library struct {
	// Dir is the directory; created on the first save.
	Dir string
	mu  sync.Mutex // orders this process's read-check-write sequences
}

// LibraryDir is where the suites saved next to the database at dbPath live.
func LibraryDir(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "suites")
}

// CheckName returns nil when name may name a saved suite, else an error
// saying why not: letters, digits, '.', '_' and '-', at most 64, not
// starting with '.', not ending in ".json" (that names a file on the
// command line), and not a built-in suite's name (ignoring case, so that no
// file can shadow one on a case-insensitive disk).
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("a name is required")
	case !libraryNameRe.MatchString(name) || strings.Contains(name, ".."):
		return fmt.Errorf("%s cannot name a suite: use letters, digits, '.', '_' and '-' (at most 64, not starting with '.'), e.g. my-suite", quoteName(name))
	case strings.HasSuffix(strings.ToLower(name), ".json"):
		return fmt.Errorf("%s cannot name a suite: a name ending in .json is a file path on the command line; drop the extension", quoteName(name))
	case IsBuiltin(name):
		return fmt.Errorf("%s is %w (%s): choose another", quoteName(name), ErrBuiltinName, strings.Join(BuiltinNames(), ", "))
	}
	return nil
}

// IsBuiltin reports whether name is a built-in suite's, ignoring case.
func IsBuiltin(name string) bool {
	return slices.ContainsFunc(BuiltinNames(), func(b string) bool { return strings.EqualFold(b, name) })
}

// quoteName quotes a name for a message, cut to 80 bytes.
func quoteName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "?"))
}

// Revision is the revision of a saved suite's bytes: the first 16 bytes of
// their SHA-256, in hex. Two saves of different documents never share one.
func Revision(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// Path is the file of saved suite name.
func (l *Library) Path(name string) string { return filepath.Join(l.Dir, name+".json") }

// root opens the directory, creating it when create is set. Every file
// operation goes through it, so that no name can reach outside.
func (l *Library) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(l.Dir, 0o700); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(l.Dir)
}

// Names lists the saved suites, sorted; an absent directory holds none.
// Files that could not be saved under their name (a built-in's, a bad
// name) are not listed.
func (l *Library) Names() ([]string, error) {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && CheckName(name) == nil {
			names = append(names, name)
		}
	}
	return names, nil
}

// Read returns saved suite name's bytes and revision; ErrNoSuite when
// there is none. At most MaxFileSize bytes are read.
func (l *Library) Read(name string) ([]byte, string, error) {
	if err := CheckName(name); err != nil {
		return nil, "", err
	}
	r, err := l.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w %q", ErrNoSuite, name)
	}
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	return read(r, name)
}

// read reads name's file in r.
func read(r *os.Root, name string) ([]byte, string, error) {
	f, err := r.Open(name + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w %q", ErrNoSuite, name)
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("saved suite %q: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > MaxFileSize {
		return nil, "", fmt.Errorf("saved suite %q: larger than the %d-byte limit", name, MaxFileSize)
	}
	return data, Revision(data), nil
}

// Load parses saved suite name, with its file's path as the source.
func (l *Library) Load(name string) (*Suite, error) {
	data, _, err := l.Read(name)
	if err != nil {
		return nil, err
	}
	return Parse(l.Path(name), data)
}

// Save writes data (a suite document the caller has parsed) as saved suite
// name and returns its new revision. rev says what the caller expects to
// replace: "" creates only (ErrExists when one is saved), "*" replaces
// whatever is there (or creates), and a revision replaces only that
// revision (*StaleError otherwise, ErrNoSuite when there is none).
func (l *Library) Save(name string, data []byte, rev string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if len(data) > MaxFileSize {
		return "", fmt.Errorf("suite %q is %d bytes, larger than the %d-byte limit", name, len(data), MaxFileSize)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r, err := l.root(true)
	if err != nil {
		return "", err
	}
	defer r.Close()
	_, cur, err := read(r, name)
	switch {
	case errors.Is(err, ErrNoSuite):
		if rev != "" && rev != "*" {
			return "", &StaleError{Name: name, Want: rev}
		}
	case err != nil:
		return "", err
	case rev == "":
		return "", fmt.Errorf("%w: %q (edit it, or choose another name)", ErrExists, name)
	case rev != "*" && rev != cur:
		return "", &StaleError{Name: name, Want: rev, Current: cur}
	}
	if err := writeDurably(r, name+".json", data); err != nil {
		return "", err
	}
	return Revision(data), nil
}

// writeDurably replaces file name in r with data: written to a temporary
// file and synced, renamed into place, and the directory synced, so that
// after a crash the file is the old document or the new one, whole.
func writeDurably(r *os.Root, name string, data []byte) error {
	tmp := "." + name + ".partial"
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, name)
	}
	if err != nil {
		r.Remove(tmp)
		return err
	}
	if d, err := r.Open("."); err == nil {
		_ = d.Sync() // not every system syncs a directory; the rename stands
		d.Close()
	}
	return nil
}

// Remove deletes saved suite name; rev, when not "" or "*", must be the
// revision saved now (*StaleError otherwise).
func (l *Library) Remove(name, rev string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r, err := l.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q", ErrNoSuite, name)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	_, cur, err := read(r, name)
	if err != nil {
		return err
	}
	if rev != "" && rev != "*" && rev != cur {
		return &StaleError{Name: name, Want: rev, Current: cur}
	}
	if err := r.Remove(name + ".json"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w %q", ErrNoSuite, name)
		}
		return err
	}
	return nil
}

// Resolve finds the suite a command line names: a built-in suite, else a
// path ending in .json (as the package-level Resolve), else a suite saved
// in the library. A nil library (or one without a directory) has no saved
// suites.
func (l *Library) Resolve(nameOrPath string) (*Suite, error) {
	if _, ok := Builtin(nameOrPath); ok || strings.EqualFold(filepath.Ext(nameOrPath), ".json") || l == nil || l.Dir == "" {
		return Resolve(nameOrPath)
	}
	if CheckName(nameOrPath) == nil {
		st, err := l.Load(nameOrPath)
		if !errors.Is(err, ErrNoSuite) {
			return st, err
		}
	}
	_, err := Resolve(nameOrPath)
	saved, _ := l.Names()
	list := "none"
	if len(saved) > 0 {
		list = strings.Join(saved, ", ")
	}
	return nil, fmt.Errorf("%w; saved suites (in %s): %s", err, l.Dir, list)
}
