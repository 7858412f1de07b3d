package store

import (
	"slices"

	"flperf/internal/engine"
	"flperf/internal/result"
)

// The store never keeps the user:password@ of a URL (an endpoint given as
// http://user:password@host/v1). flperf takes them out where the endpoint
// is read (bench.SplitEndpoint); the store takes them out again from
// whatever reaches it, an import of an older export included: the run's
// endpoint, command line and warnings, every event and every record's
// endpoint and error.

// redactRun returns r with the user:password@ of its URLs removed; r
// itself is not changed.
func redactRun(r *result.Result) *result.Result {
	c := *r
	c.Engine.Endpoint = engine.RedactUserinfo(c.Engine.Endpoint)
	c.Engine.DetectedBy = engine.RedactUserinfo(c.Engine.DetectedBy)
	c.Config.Endpoint = engine.RedactUserinfo(c.Config.Endpoint)
	c.Config.Command = redactAll(c.Config.Command)
	c.Warnings = redactAll(c.Warnings)
	return &c
}

// redactAll returns ss with the user:password@ of its URLs removed, a copy
// only when something changed.
func redactAll(ss []string) []string {
	var out []string
	for i, s := range ss {
		r := engine.RedactUserinfo(s)
		if r != s && out == nil {
			out = slices.Clone(ss)
		}
		if out != nil {
			out[i] = r
		}
	}
	if out == nil {
		return ss
	}
	return out
}
