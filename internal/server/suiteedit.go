package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"flperf/internal/suite"
)

// problemView is one problem of a suite document, as the editor shows it
// beside its field.
type problemView struct {
	// Path locates the value in the document: "name",
	// "scenarios[2].max_tokens", "scenarios[0].messages[1].role" (indexes
	// 0-based), "scenarios[1]" for a scenario as a whole, "" for the
	// document as a whole.
	Path string `json:"path"`
	// Scenario is the 1-based scenario (0: the suite itself), ScenarioName
	// its name, Field the path below it, as suite.Problem has them.
	Scenario     int    `json:"scenario,omitempty"`
	ScenarioName string `json:"scenario_name,omitempty"`
	Field        string `json:"field,omitempty"`
	// Message says what is wrong; Text is the line `flperf run` prints
	// for it (after `suite "FILE": `).
	Message string `json:"message"`
	Text    string `json:"text"`
}

// problemsOf turns a suite.ValidationError into the views.
func problemsOf(ve *suite.ValidationError) []problemView {
	out := make([]problemView, len(ve.Problems))
	for i, p := range ve.Problems {
		path := p.Field
		if p.Scenario > 0 {
			path = "scenarios[" + strconv.Itoa(p.Scenario-1) + "]"
			if p.Field != "" {
				path += "." + p.Field
			}
		}
		out[i] = problemView{Path: path, Scenario: p.Scenario, ScenarioName: p.ScenarioName, Field: p.Field,
			Message: p.Message, Text: p.String()}
	}
	return out
}

// invalidSuite is the 400 of a document that does not validate: the
// message joins every problem, field is the first one's path, and
// problems lists them all.
func invalidSuite(err error) error {
	var ve *suite.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		return badRequest("", "%v", err)
	}
	ps := problemsOf(ve)
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Text
	}
	if ve.Omitted > 0 {
		msgs = append(msgs, "… and "+strconv.Itoa(ve.Omitted)+" more problems")
	}
	e := badRequest(ps[0].Path, "%s", strings.Join(msgs, "; "))
	e.Problems = ps
	return e
}

// libraryError maps a suite.Library error to the API's.
func libraryError(field string, err error) error {
	var se *suite.StaleError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		e := conflict("%v", err)
		e.Field = "If-Match"
		return e
	case errors.Is(err, suite.ErrNoSuite):
		return notFound("%v", err)
	case errors.Is(err, suite.ErrExists), errors.Is(err, suite.ErrBuiltinName):
		e := conflict("%v", err)
		e.Field = field
		return e
	}
	return err
}

// checkSaveName refuses a name a suite cannot be saved under: a bad name
// is a 400, a built-in's a 409 (built-in suites are read-only).
func checkSaveName(field, name string) error {
	err := suite.CheckName(name)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, suite.ErrBuiltinName):
		e := conflict("%v (built-in suites are read-only: duplicate one to change it)", err)
		e.Field = field
		return e
	}
	return badRequest(field, "%v", err)
}

// readSuiteBody reads a suite document body: JSON, at most maxSuiteBody.
func readSuiteBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := jsonContentType(r); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSuiteBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(maxSuiteBody)
		}
		return nil, badRequest("", "reading the body: %v", err)
	}
	return data, nil
}

// ifMatch reads the If-Match header: the revision the client read, "*"
// for any, "" when absent. A weak or quoted tag is taken as its value.
func ifMatch(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}

// setETag sets the ETag header of a saved suite's revision.
func setETag(w http.ResponseWriter, rev string) {
	if rev != "" {
		w.Header().Set("ETag", `"`+rev+`"`)
	}
}

// saved answers a suite just saved: its summary with the new revision.
func saved(w http.ResponseWriter, status int, name, rev string, st *suite.Suite) error {
	sum := summaryOf(name, "custom", st)
	sum.Revision = rev
	setETag(w, rev)
	return writeData(w, status, sum)
}

// handleUploadSuite answers POST /suites: the body is the suite document,
// saved under its "name" (or ?name=); a name already saved is a 409 (PUT
// /suites/{name} replaces one).
func (s *Server) handleUploadSuite(w http.ResponseWriter, r *http.Request) error {
	data, err := readSuiteBody(w, r)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
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
		return badRequest("name", "name the suite: a \"name\" in the document, or ?name=")
	}
	if err := checkSaveName("name", name); err != nil {
		return err
	}
	if perr != nil {
		return invalidSuite(perr)
	}
	rev, err := s.suites.lib.Save(name, data, "")
	if err != nil {
		return libraryError("name", err)
	}
	return saved(w, http.StatusCreated, name, rev, st)
}

// validation is the answer of POST /suites/validate.
type validation struct {
	Valid     bool          `json:"valid"`
	Problems  []problemView `json:"problems"`
	Omitted   int           `json:"omitted"`             // problems beyond the first 100, not listed
	Scenarios int           `json:"scenarios,omitempty"` // of a valid suite
}

// handleValidateSuite answers POST /suites/validate: the body is a suite
// document, checked exactly as `flperf run --suite FILE` checks one and
// never saved. The answer is a 200 either way: a verdict, with every
// problem located by its path in the document.
func (s *Server) handleValidateSuite(w http.ResponseWriter, r *http.Request) error {
	data, err := readSuiteBody(w, r)
	if err != nil {
		return err
	}
	st, perr := suite.Parse("document", data)
	if perr == nil {
		return writeData(w, http.StatusOK, validation{Valid: true, Problems: []problemView{}, Scenarios: len(st.Scenarios)})
	}
	var ve *suite.ValidationError
	if !errors.As(perr, &ve) {
		return perr
	}
	return writeData(w, http.StatusOK, validation{Problems: problemsOf(ve), Omitted: ve.Omitted})
}

// suiteDocument is the answer of GET /suites/{name}/document.
type suiteDocument struct {
	Name     string          `json:"name"`
	Source   string          `json:"source"`   // builtin or custom
	Revision string          `json:"revision"` // "" for a built-in
	Editable bool            `json:"editable"` // false for a built-in: duplicate it
	Document json.RawMessage `json:"document"` // as saved
	// Error says why a saved document does not parse; the editor opens it
	// anyway so that it can be fixed.
	Error string `json:"error,omitempty"`
}

// handleSuiteDocument answers GET /suites/{name}/document: the document
// as written, for the editor, with its revision as the ETag.
func (s *Server) handleSuiteDocument(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if data, ok := suite.BuiltinDocument(name); ok {
		return writeData(w, http.StatusOK, suiteDocument{Name: name, Source: "builtin", Document: data})
	}
	if builtin(name) {
		return notFound("no suite %s (built-in: %s)", quote(name), strings.Join(suite.BuiltinNames(), ", "))
	}
	if !validName(name) {
		return badRequest("name", "%s is not a suite name (letters, digits, '.', '_' and '-', at most 64)", quote(name))
	}
	data, rev, err := s.suites.lib.Read(name)
	if err != nil {
		return libraryError("name", err)
	}
	d := suiteDocument{Name: name, Source: "custom", Revision: rev, Editable: true}
	if _, err := suite.Parse(s.suites.lib.Path(name), data); err != nil {
		d.Error = err.Error()
	}
	if !json.Valid(data) {
		// Not JSON at all: hand it over as a string, so that the answer
		// stays JSON and the editor can show the text to fix.
		d.Document, _ = json.Marshal(string(data))
	} else {
		d.Document = data
	}
	setETag(w, rev)
	return writeData(w, http.StatusOK, d)
}

// handlePutSuite answers PUT /suites/{name}: the body replaces the saved
// suite. If-Match must carry the revision read (or "*": whatever is
// saved, or create); another revision is a 409, never a silent overwrite.
func (s *Server) handlePutSuite(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkSaveName("name", name); err != nil {
		return err
	}
	rev := ifMatch(r)
	if rev == "" {
		return badRequest("If-Match", "required: the revision read (the ETag of GET /api/v1/suites/%s/document), or * to replace whatever is saved", name)
	}
	data, err := readSuiteBody(w, r)
	if err != nil {
		return err
	}
	st, err := suite.Parse(s.suites.lib.Path(name), data)
	if err != nil {
		return invalidSuite(err)
	}
	nrev, err := s.suites.lib.Save(name, data, rev)
	if err != nil {
		return libraryError("name", err)
	}
	return saved(w, http.StatusOK, name, nrev, st)
}

// duplicateRequest is the body of POST /suites/{name}/duplicate.
type duplicateRequest struct {
	Name string `json:"name"` // the copy's name (and its document's)
}

// handleDuplicateSuite answers POST /suites/{name}/duplicate: a copy of
// a built-in or saved suite, saved under a new name that its document's
// "name" takes too; every other field is kept as written.
func (s *Server) handleDuplicateSuite(w http.ResponseWriter, r *http.Request) error {
	from := r.PathValue("name")
	var req duplicateRequest
	if err := decodeBody(w, r, &req, maxBody); err != nil {
		return err
	}
	if err := checkSaveName("name", req.Name); err != nil {
		return err
	}
	data, ok := suite.BuiltinDocument(from)
	if !ok {
		if !validName(from) || builtin(from) {
			return badRequest("", "%s is not a suite name", quote(from))
		}
		var err error
		if data, _, err = s.suites.lib.Read(from); err != nil {
			return libraryError("", err)
		}
	}
	doc, err := suite.WithName(data, req.Name)
	if err != nil {
		return badRequest("", "suite %s cannot be copied: %v", quote(from), err)
	}
	st, err := suite.Parse(s.suites.lib.Path(req.Name), doc)
	if err != nil {
		return invalidSuite(err)
	}
	rev, err := s.suites.lib.Save(req.Name, doc, "")
	if err != nil {
		return libraryError("name", err)
	}
	return saved(w, http.StatusCreated, req.Name, rev, st)
}

// handleDeleteSuite answers DELETE /suites/{name} (saved suites only; an
// If-Match, when sent, must be the revision saved now).
func (s *Server) handleDeleteSuite(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if builtin(name) {
		return conflict("%q is a built-in suite: it cannot be deleted", name)
	}
	if !validName(name) {
		return badRequest("name", "%s is not a suite name", quote(name))
	}
	if err := s.suites.lib.Remove(name, ifMatch(r)); err != nil {
		return libraryError("", err)
	}
	return writeData(w, http.StatusOK, map[string]string{"deleted": name})
}
