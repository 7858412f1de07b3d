package server

import (
	"errors"
	"net/http"
	"strings"

	"flperf/internal/suite"
)

// suites finds the built-in suites and the saved ones (suite.Library: the
// directory "suites" next to the database, where `flperf run --suite NAME`
// finds them too).
type suites struct {
	lib *suite.Library
}

// validName reports whether name may name a saved suite file (built-in
// names included: they are refused apart, as a conflict).
func validName(name string) bool {
	err := suite.CheckName(name)
	return err == nil || errors.Is(err, suite.ErrBuiltinName)
}

// builtin reports whether name is a built-in suite's (case-insensitively,
// so that no custom file can shadow one on a case-insensitive disk).
func builtin(name string) bool { return suite.IsBuiltin(name) }

// resolve finds a suite for a run: a built-in one by name, else a saved
// one, read from its file inside the suites directory only.
func (s *suites) resolve(name string) (*suite.Suite, error) {
	if st, ok := suite.Builtin(name); ok {
		return st, nil
	}
	if !validName(name) {
		return nil, errors.New("no suite " + quote(name) + ": not a built-in name, and custom suite names are letters, digits, '.', '_' and '-'")
	}
	st, err := s.lib.Load(name)
	if errors.Is(err, suite.ErrNoSuite) {
		return nil, errors.New("no suite " + quote(name) + " (built-in: " + strings.Join(suite.BuiltinNames(), ", ") + ")")
	}
	return st, err
}

// customNames lists the saved suites' names, sorted.
func (s *suites) customNames() ([]string, error) { return s.lib.Names() }

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
	// Revision is a saved suite's revision (its ETag); "" for a built-in.
	Revision string `json:"revision,omitempty"`
	// Error says why a saved suite's file does not parse (it is listed,
	// so that the editor can open and fix it); "" when it does.
	Error string `json:"error,omitempty"`
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

// handleSuites answers GET /suites: the built-in suites, then the saved
// ones (a saved file that does not parse is listed with its error).
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
		data, rev, err := s.suites.lib.Read(n)
		if err != nil {
			s.logf("warn", "custom suite %s: %v", n, err)
			continue
		}
		st, err := suite.Parse(s.suites.lib.Path(n), data)
		if err != nil {
			out = append(out, suiteSummary{Name: n, Source: "custom", Revision: rev, Error: err.Error()})
			continue
		}
		sum := summaryOf(n, "custom", st)
		sum.Revision = rev
		out = append(out, sum)
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
