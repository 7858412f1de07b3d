package server

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/suite"
)

// suiteNameRe is what a custom suite may be called: it is also its file
// name (NAME.json) in the suites directory.
var suiteNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// suites finds the built-in suites and the custom ones uploaded into dir.
type suites struct {
	dir string // DATA/suites, next to the database
}

// validName reports whether name may name a custom suite file.
func validName(name string) bool {
	return suiteNameRe.MatchString(name) && filepath.Base(name) == name && !strings.Contains(name, "..")
}

// builtin reports whether name is a built-in suite's (case-insensitively,
// so that no custom file can shadow one on a case-insensitive disk).
func builtin(name string) bool {
	return slices.ContainsFunc(suite.BuiltinNames(), func(b string) bool { return strings.EqualFold(b, name) })
}

// root opens the suites directory, creating it when create is set.
func (s *suites) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(s.dir)
}

// path is where custom suite name is kept.
func (s *suites) path(name string) string { return filepath.Join(s.dir, name+".json") }

// resolve finds a suite for a run: a built-in one by name, else a custom
// one, read from its file inside the suites directory only.
func (s *suites) resolve(name string) (*suite.Suite, error) {
	if st, ok := suite.Builtin(name); ok {
		return st, nil
	}
	if !validName(name) {
		return nil, errors.New("no suite " + quote(name) + ": not a built-in name, and custom suite names are letters, digits, '.', '_' and '-'")
	}
	data, err := s.read(name)
	if err != nil {
		return nil, err
	}
	return suite.Parse(s.path(name), data)
}

// read returns a custom suite's file.
func (s *suites) read(name string) ([]byte, error) {
	r, err := s.root(false)
	if err != nil {
		return nil, errors.New("no suite " + quote(name) + " (built-in: " + strings.Join(suite.BuiltinNames(), ", ") + ")")
	}
	defer r.Close()
	f, err := r.Open(name + ".json")
	if err != nil {
		return nil, errors.New("no suite " + quote(name) + " (built-in: " + strings.Join(suite.BuiltinNames(), ", ") + ")")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, suite.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// customNames lists the custom suites' names, sorted.
func (s *suites) customNames() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && validName(name) && !builtin(name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// save writes a custom suite: to a temporary file, then renamed into
// place, so that a run never reads half a file.
func (s *suites) save(name string, data []byte) error {
	r, err := s.root(true)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp := "." + name + ".json.partial"
	if err := r.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := r.Rename(tmp, name+".json"); err != nil {
		r.Remove(tmp)
		return err
	}
	return nil
}

// remove deletes a custom suite.
func (s *suites) remove(name string) error {
	r, err := s.root(false)
	if err != nil {
		return notFound("no custom suite %q", name)
	}
	defer r.Close()
	if err := r.Remove(name + ".json"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return notFound("no custom suite %q", name)
		}
		return err
	}
	return nil
}

// quote quotes s for a message.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// suiteSummary is one line of GET /suites.
type suiteSummary struct {
	Name        string `json:"name"`
	Source      string `json:"source"` // builtin or custom
	Version     string `json:"version"`
	Description string `json:"description"`
	Scenarios   int    `json:"scenarios"`
}

// scenarioView is one scenario of GET /suites/{name}.
type scenarioView struct {
	Name        string          `json:"name"`
	Category    string          `json:"category"`
	Description string          `json:"description"`
	MaxTokens   int             `json:"max_tokens"`
	Temperature *float64        `json:"temperature"`
	Messages    []suite.Message `json:"messages"`
	// Turns is a conversation's number of user turns (0: not one); its
	// Messages are then those of its first turn.
	Turns int `json:"turns,omitempty"`
}

// suiteView is GET /suites/{name}.
type suiteView struct {
	Name          string               `json:"name"`
	Source        string               `json:"source"`
	Version       string               `json:"version"`
	Description   string               `json:"description"`
	DefaultConfig *suite.DefaultConfig `json:"default_config"`
	Scenarios     []scenarioView       `json:"scenarios"`
}

// summaryOf summarises suite st, called name.
func summaryOf(name, source string, st *suite.Suite) suiteSummary {
	return suiteSummary{Name: name, Source: source, Version: st.Version, Description: st.Description, Scenarios: len(st.Scenarios)}
}

// handleSuites answers GET /suites.
func (s *Server) handleSuites(w http.ResponseWriter, r *http.Request) error {
	out := []suiteSummary{}
	for _, n := range suite.BuiltinNames() {
		st, _ := suite.Builtin(n)
		out = append(out, summaryOf(n, "builtin", st))
	}
	names, err := s.suites.customNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		st, err := s.suites.resolve(n)
		if err != nil {
			s.logf("warn", "custom suite %s: %v", n, err)
			continue
		}
		out = append(out, summaryOf(n, "custom", st))
	}
	return writeData(w, http.StatusOK, out)
}

// handleSuite answers GET /suites/{name}.
func (s *Server) handleSuite(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	source := "builtin"
	if !builtin(name) {
		source = "custom"
		if !validName(name) {
			return badRequest("name", "%s is not a suite name (letters, digits, '.', '_' and '-', at most 64)", quote(name))
		}
	}
	st, err := s.suites.resolve(name)
	if err != nil {
		var ve *suite.ValidationError
		if errors.As(err, &ve) {
			return err // a file damaged on disk: the server's problem
		}
		return notFound("%v", err)
	}
	v := suiteView{Name: name, Source: source, Version: st.Version, Description: st.Description, DefaultConfig: st.DefaultConfig, Scenarios: []scenarioView{}}
	for i := range st.Scenarios {
		sc := &st.Scenarios[i]
		temp := sc.Temperature
		if temp == nil && st.DefaultConfig != nil {
			temp = st.DefaultConfig.Temperature
		}
		v.Scenarios = append(v.Scenarios, scenarioView{Name: sc.Name, Category: sc.Category, Description: sc.Description,
			MaxTokens: sc.MaxTokensOr(suite.DefaultMaxTokens), Temperature: temp, Messages: sc.FirstMessages(""), Turns: sc.TurnCount()})
	}
	return writeData(w, http.StatusOK, v)
}

// handleUploadSuite answers POST /suites: the body is the suite document.
func (s *Server) handleUploadSuite(w http.ResponseWriter, r *http.Request) error {
	if err := jsonContentType(r); err != nil {
		return err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSuiteBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(maxSuiteBody)
		}
		return badRequest("", "reading the body: %v", err)
	}
	name := r.URL.Query().Get("name")
	field := "name"
	st, perr := suite.Parse("upload", data)
	if name == "" {
		if st == nil {
			var peek struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(data, &peek) // the name only; Parse explains what is wrong
			name = peek.Name
		} else {
			name = st.Name
		}
	}
	if name == "" {
		return badRequest(field, "name the suite: a \"name\" in the document, or ?name=")
	}
	if !validName(name) {
		return badRequest(field, "%s cannot name a suite file: use letters, digits, '.', '_' and '-' (at most 64, not starting with '.'), e.g. ?name=my-suite", quote(name))
	}
	if builtin(name) {
		return conflict("%q is a built-in suite's name: choose another (?name=)", name)
	}
	if perr != nil {
		var ve *suite.ValidationError
		if errors.As(perr, &ve) && len(ve.Problems) > 0 {
			msgs := make([]string, len(ve.Problems))
			for i, p := range ve.Problems {
				msgs[i] = p.String()
			}
			if ve.Omitted > 0 {
				msgs = append(msgs, "…")
			}
			p := ve.Problems[0]
			f := p.Field
			if p.Scenario > 0 {
				f = "scenarios[" + strconv.Itoa(p.Scenario-1) + "]"
				if p.Field != "" {
					f += "." + p.Field
				}
			}
			return badRequest(f, "%s", strings.Join(msgs, "; "))
		}
		return badRequest("", "%v", perr)
	}
	if err := s.suites.save(name, data); err != nil {
		return err
	}
	return writeData(w, http.StatusCreated, summaryOf(name, "custom", st))
}

// handleDeleteSuite answers DELETE /suites/{name}.
func (s *Server) handleDeleteSuite(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if builtin(name) {
		return conflict("%q is a built-in suite: it cannot be deleted", name)
	}
	if !validName(name) {
		return badRequest("name", "%s is not a suite name", quote(name))
	}
	if err := s.suites.remove(name); err != nil {
		return err
	}
	return writeData(w, http.StatusOK, map[string]string{"deleted": name})
}
