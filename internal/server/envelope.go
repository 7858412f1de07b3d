package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"flperf/internal/bench"
	"flperf/internal/store"
)

// Error kinds of the API envelope, a closed set.
const (
	kindBadRequest   = "bad_request"
	kindUnauthorized = "unauthorized"
	kindForbidden    = "forbidden"
	kindNotFound     = "not_found"
	kindConflict     = "conflict"
	kindTooLarge     = "too_large"
	kindTooMany      = "too_many_requests"
	kindUnavailable  = "unavailable"
	kindInternal     = "internal"
)

// statusOf maps an error kind to its HTTP status.
var statusOf = map[string]int{
	kindBadRequest:   http.StatusBadRequest,
	kindUnauthorized: http.StatusUnauthorized,
	kindForbidden:    http.StatusForbidden,
	kindNotFound:     http.StatusNotFound,
	kindConflict:     http.StatusConflict,
	kindTooLarge:     http.StatusRequestEntityTooLarge,
	kindTooMany:      http.StatusTooManyRequests,
	kindUnavailable:  http.StatusServiceUnavailable,
	kindInternal:     http.StatusInternalServerError,
}

// Body limits.
const (
	maxBody      = 1 << 20 // JSON bodies
	maxSuiteBody = 4 << 20 // suite uploads
)

// apiError is an error answered with the envelope's error object.
type apiError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Problems lists every problem of a suite document that does not
	// validate, each with its path (see problemView).
	Problems []problemView `json:"problems,omitempty"`
}

// Error returns the message.
func (e *apiError) Error() string { return e.Message }

// newError builds an apiError.
func newError(kind, field, format string, a ...any) *apiError {
	return &apiError{Kind: kind, Field: field, Message: fmt.Sprintf(format, a...)}
}

func badRequest(field, format string, a ...any) *apiError {
	return newError(kindBadRequest, field, format, a...)
}

func notFound(format string, a ...any) *apiError { return newError(kindNotFound, "", format, a...) }

func conflict(format string, a ...any) *apiError { return newError(kindConflict, "", format, a...) }

func unavailable(format string, a ...any) *apiError {
	return newError(kindUnavailable, "", format, a...)
}

// handler is an API handler: it writes a success itself, or returns an
// error that the envelope turns into the right status.
type handler func(w http.ResponseWriter, r *http.Request) error

// api adapts h to an http.HandlerFunc.
func (s *Server) api(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError answers err in the envelope. Errors the handlers did not
// classify are internal: logged, and answered without their text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var amb *store.AmbiguousError
	var probs bench.Problems
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &probs) && len(probs) > 0:
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Error()
		}
		ae = badRequest(probs[0].Field, "%s", strings.Join(msgs, "; "))
	case errors.As(err, &amb):
		ae = badRequest("id", "%v", amb)
	case errors.Is(err, store.ErrNotFound):
		ae = notFound("%v", err)
	default:
		s.logf("error", "%s %s: %v", r.Method, r.URL.Path, err)
		ae = newError(kindInternal, "", "the server failed to answer %s %s; its log says why", r.Method, r.URL.Path)
	}
	writeJSON(w, statusOf[ae.Kind], map[string]any{"error": ae})
}

// writeData answers v in the envelope's data member.
func writeData(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, status, map[string]any{"data": v})
	return nil
}

// writeRawData answers a JSON document already encoded.
func writeRawData(w http.ResponseWriter, status int, raw []byte) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, `{"data":`)
	w.Write(bytes.TrimSpace(raw))
	io.WriteString(w, "}\n")
	return nil
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		b.Reset()
		b.WriteString(`{"error":{"kind":"internal","message":"the answer could not be encoded as JSON"}}` + "\n")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// decodeBody decodes the JSON request body into v: at most limit bytes,
// no unknown fields, one JSON value and nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := jsonContentType(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return badRequest("", "the body holds more than one JSON value: send exactly one object")
	}
	return nil
}

// jsonContentType refuses a body that does not say it is JSON.
func jsonContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return badRequest("", "send the body as Content-Type: application/json, not %q", ct)
	}
	return nil
}

// tooLarge is the error for a body over limit bytes.
func tooLarge(limit int64) *apiError {
	return newError(kindTooLarge, "", "the body is larger than the %d-byte limit", limit)
}

// jsonError explains a decoding error, naming the field where it can.
func jsonError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the JSON body ends too early")
	case errors.As(err, &se):
		return badRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", "the body must be a JSON %s, got %s", jsonType(te.Type.Kind().String()), te.Value)
		}
		return badRequest(te.Field, "%s: want %s, got %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		return badRequest(name, "unknown field %s", f)
	}
	return badRequest("", "bad JSON body: %v", err)
}

// jsonType names a Go kind the way a JSON user would.
func jsonType(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "another type"
}

// queryInt reads the integer query parameter name of q, def when absent;
// a value that is not an integer from lo to hi is a bad request naming it.
// what describes the bounds in the message ("from 1 to 200").
func queryInt(q url.Values, name string, def, lo, hi int, what string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, "%s must be an integer %s, got %s", name, what, quote(v))
	}
	return n, nil
}
