package suite

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// builtins parses the embedded suites once. They are part of the program,
// checked by the tests, so an invalid one is a build defect.
var builtins = sync.OnceValue(func() map[string]*Suite {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		panic(fmt.Sprintf("suite: reading embedded suites: %v", err))
	}
	m := make(map[string]*Suite, len(entries))
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		data, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			panic(fmt.Sprintf("suite: reading embedded suite %s: %v", name, err))
		}
		s, err := Parse("builtin:"+name, data)
		if err != nil {
			panic(fmt.Sprintf("suite: embedded suite %s is invalid: %v", name, err))
		}
		m[name] = s
	}
	return m
})

// Builtin returns a copy of the embedded suite with this name (see
// BuiltinNames), with Source "builtin:<name>".
func Builtin(name string) (*Suite, bool) {
	s, ok := builtins()[name]
	if !ok {
		return nil, false
	}
	return s.Clone(), true
}

// BuiltinNames lists the embedded suites, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins()))
	for n := range builtins() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Resolve returns the builtin suite called nameOrPath, or else loads it as a
// file if it is a path ending in ".json". A bare name is only ever looked up
// among the builtins, never turned into a filesystem path; anything else
// (another extension, path separators, "..") is refused without touching the
// filesystem.
//
// Resolve accepts any .json path, so it is for the command line: a server
// must not pass untrusted input to it.
func Resolve(nameOrPath string) (*Suite, error) {
	return resolve(nameOrPath, Load)
}

// resolve is Resolve with the file loader injected for tests.
func resolve(arg string, load func(string) (*Suite, error)) (*Suite, error) {
	avail := strings.Join(BuiltinNames(), ", ")
	if arg == "" {
		return nil, fmt.Errorf("no suite given: name a builtin suite (%s) or a .json file", avail)
	}
	if s, ok := Builtin(arg); ok {
		return s, nil
	}
	if strings.EqualFold(path.Ext(arg), ".json") {
		return load(arg)
	}
	if strings.ContainsAny(arg, `/\`) || strings.Contains(arg, "..") {
		return nil, fmt.Errorf("suite %q is neither a builtin suite (%s) nor a path to a .json file; "+
			"suite names are never looked up as paths", arg, avail)
	}
	return nil, fmt.Errorf("unknown suite %q: builtin suites are %s; to use a file give its path ending in .json",
		arg, avail)
}

// BuiltinDocument returns the embedded suite document called name, as
// written (the editor's starting point when a built-in is duplicated).
func BuiltinDocument(name string) ([]byte, bool) {
	if _, ok := builtins()[name]; !ok {
		return nil, false
	}
	data, err := builtinFS.ReadFile(path.Join("builtin", name+".json"))
	return data, err == nil
}
