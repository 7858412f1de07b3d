package sim

import (
	"encoding/json"
	"net/http"
)

// apiError is an OpenAI-style error answer.
type apiError struct {
	status int
	typ    string // invalid_request_error, rate_limit_error, server_error, ...
	param  string // offending request field, "" for none
	code   string // machine-readable code, "" for none
	msg    string
}

// writeError answers {"error":{"message","type","param","code"}} with e's status.
func writeError(w http.ResponseWriter, e apiError) {
	type body struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	b := body{Message: e.msg, Type: e.typ}
	if e.param != "" {
		b.Param = &e.param
	}
	if e.code != "" {
		b.Code = &e.code
	}
	out, _ := json.Marshal(struct {
		Error body `json:"error"`
	}{b})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if e.status == http.StatusTooManyRequests || e.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(e.status)
	w.Write(append(out, '\n'))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error",
		msg: "method not allowed; use " + allow})
}
