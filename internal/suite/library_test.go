package suite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const libDoc = `{"name":"mine","scenarios":[{"name":"A","prompt":"Say hi.","max_tokens":8}]}`

// TestLibrary checks create-only saves, revisions (a stale one changes
// nothing), "*", removal and the names listed.
func TestLibrary(t *testing.T) {
	l := &Library{Dir: filepath.Join(t.TempDir(), "suites")}
	if names, err := l.Names(); err != nil || names != nil {
		t.Fatalf("empty library: %v %v", names, err)
	}
	if _, _, err := l.Read("mine"); !errors.Is(err, ErrNoSuite) {
		t.Fatalf("read absent: %v", err)
	}
	rev1, err := l.Save("mine", []byte(libDoc), "")
	if err != nil || rev1 != Revision([]byte(libDoc)) || len(rev1) != 32 {
		t.Fatalf("save: %q %v", rev1, err)
	}
	if _, err := l.Save("mine", []byte(libDoc), ""); !errors.Is(err, ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
	v2 := strings.Replace(libDoc, "hi", "hello", 1)
	rev2, err := l.Save("mine", []byte(v2), rev1)
	if err != nil || rev2 == rev1 {
		t.Fatalf("replace: %q %v", rev2, err)
	}
	_, err = l.Save("mine", []byte(libDoc), rev1)
	var se *StaleError
	if !errors.As(err, &se) || se.Current != rev2 || se.Want != rev1 {
		t.Fatalf("stale save: %v", err)
	}
	if data, rev, _ := l.Read("mine"); string(data) != v2 || rev != rev2 {
		t.Fatalf("after a stale save: %s %s", data, rev)
	}
	if _, err := l.Save("other", []byte(libDoc), rev1); !errors.As(err, &se) || se.Current != "" {
		t.Fatalf("replace absent: %v", err)
	}
	if _, err := l.Save("other", []byte(libDoc), "*"); err != nil {
		t.Fatal(err)
	}
	if names, _ := l.Names(); strings.Join(names, ",") != "mine,other" {
		t.Fatalf("names %v", names)
	}
	// Each save left its file alone in the directory, no temporary one.
	entries, _ := os.ReadDir(l.Dir)
	if len(entries) != 2 {
		t.Fatalf("directory holds %v", entries)
	}
	// Files that no save could have written are not listed.
	os.WriteFile(filepath.Join(l.Dir, "default.json"), []byte(libDoc), 0o600)
	os.WriteFile(filepath.Join(l.Dir, ".x.json.partial"), []byte(libDoc), 0o600)
	os.Mkdir(filepath.Join(l.Dir, "dir.json"), 0o700)
	if names, _ := l.Names(); strings.Join(names, ",") != "mine,other" {
		t.Fatalf("names %v", names)
	}
	if err := l.Remove("mine", rev1); !errors.As(err, &se) {
		t.Fatalf("stale remove: %v", err)
	}
	if err := l.Remove("mine", rev2); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove("mine", ""); !errors.Is(err, ErrNoSuite) {
		t.Fatalf("remove twice: %v", err)
	}
	if _, err := l.Save("mine", make([]byte, MaxFileSize+1), "*"); err == nil {
		t.Fatal("saved an oversized document")
	}
}

// TestCheckName checks the names a suite may be saved under.
func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "my-suite", "v1.2_x", strings.Repeat("n", 64)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".x", "../x", "a/b", `a\b`, "a b", "a..b", "x.json", "X.JSON", strings.Repeat("n", 65), "é"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, b := range []string{"default", "DEFAULT"} {
		if err := CheckName(b); !errors.Is(err, ErrBuiltinName) {
			t.Errorf("%q: %v", b, err)
		}
	}
}

// TestLibraryResolve checks what a command line's --suite finds: built-in
// names first, then .json paths, then saved suites; unknown names list
// the saved ones.
func TestLibraryResolve(t *testing.T) {
	l := &Library{Dir: filepath.Join(t.TempDir(), "suites")}
	if _, err := l.Save("mine", []byte(libDoc), ""); err != nil {
		t.Fatal(err)
	}
	st, err := l.Resolve("mine")
	if err != nil || st.Name != "mine" || st.Source != l.Path("mine") {
		t.Fatalf("saved: %+v %v", st, err)
	}
	if st, err := l.Resolve("default"); err != nil || st.Source != "builtin:default" {
		t.Fatalf("builtin: %+v %v", st, err)
	}
	if st, err := l.Resolve(l.Path("mine")); err != nil || st.Name != "mine" {
		t.Fatalf("path: %+v %v", st, err)
	}
	_, err = l.Resolve("nope")
	if err == nil || !strings.Contains(err.Error(), `unknown suite "nope"`) || !strings.Contains(err.Error(), "saved suites (in "+l.Dir+"): mine") {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := l.Resolve("../suites/mine"); err == nil || !strings.Contains(err.Error(), "never looked up as paths") {
		t.Fatalf("traversal: %v", err)
	}
	if _, err := (*Library)(nil).Resolve("mine"); err == nil {
		t.Fatal("a nil library found a saved suite")
	}
}

// TestWithName checks that a duplicate's document keeps every other
// member in order, unknown ones included.
func TestWithName(t *testing.T) {
	for in, want := range map[string]string{
		`{"version":"1","name":"a","x_future":[1,2],"scenarios":[]}`: `{"version":"1","name":"b","x_future":[1,2],"scenarios":[]}`,
		`{"scenarios":[{"name":"s","prompt":"p"}]}`:                  `{"name":"b","scenarios":[{"name":"s","prompt":"p"}]}`,
		"\ufeff{\"name\":\"a\"}":                                     `{"name":"b"}`,
	} {
		got, err := WithName([]byte(in), "b")
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c := strings.Join(strings.Fields(string(got)), ""); c != want {
			t.Errorf("WithName(%s) = %s, want %s", in, c, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"name":`, `{} {}`} {
		if _, err := WithName([]byte(bad), "b"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzWithName: any document WithName accepts comes out as a JSON object
// named name whose other members Parse judges the same way.
func FuzzWithName(f *testing.F) {
	f.Add([]byte(libDoc), "b")
	f.Add([]byte(`{"name":"a","name":"c"}`), "x")
	f.Add([]byte(`{"a":{"b":[1,"\u2028"]}}`), "n\"q")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		out, err := WithName(data, name)
		if err != nil {
			return
		}
		top, err := decodeTop(out)
		if err != nil || jsonKind(top) != "object" {
			t.Fatalf("WithName gave %q: %v", out, err)
		}
		ms, err := readObject(top)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.key == "name" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d names in %s", n, out)
		}
	})
}
