package record

// Class sorts failures by whether sending the same request again may
// succeed (docs/metrics.md §4).
type Class string

// The failure classes.
const (
	// Transient failures may pass on a later attempt: HTTP 408, 429, 502,
	// 503 and 504, a connection refused, reset or closed before any
	// response, and a timeout before the first response byte. Only these
	// are retried (flperf run --retries).
	Transient Class = "transient"
	// Permanent failures repeat on every attempt: any other HTTP 4xx
	// (400, 401, 403, 404 — a model that does not exist —, 422, …).
	Permanent Class = "permanent"
	// OtherFailure is every other failure: HTTP 500 and other 5xx, a
	// stream that broke after the first byte, a timeout once the response
	// had begun, an outcome this version does not know. Not retried: the
	// engine got the request and may have done its work.
	OtherFailure Class = "other"
)

// Classes lists the failure classes in report order.
var Classes = []Class{Transient, Permanent, OtherFailure}

// Class returns the failure class of r's outcome; "" when r did not fail
// (ok or canceled). It reads only Outcome, Phase and Status, which every
// stored record keeps.
func (r *Record) Class() Class {
	switch r.Outcome {
	case OK, Canceled:
		return ""
	case ConnectError:
		return Transient
	case Timeout:
		if r.Phase == PhaseConnect || r.Phase == PhaseHeaders {
			return Transient
		}
		return OtherFailure
	case HTTPError:
		return StatusClass(r.Status)
	}
	return OtherFailure
}

// StatusClass returns the failure class of an HTTP error status.
func StatusClass(status int) Class {
	switch {
	case status == 408 || status == 429 || status == 502 || status == 503 || status == 504:
		return Transient
	case status >= 400 && status <= 499:
		return Permanent
	}
	return OtherFailure
}
