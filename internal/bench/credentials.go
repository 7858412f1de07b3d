package bench

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"flperf/internal/engine"
)

// Credentials authenticate flperf to an engine: an API key, sent as a
// Bearer token, or the user:password of an endpoint written as
// http://user:password@host/v1, sent as HTTP basic authentication (as a
// browser would). They live in memory and, in the app, in the settings
// beside the endpoint they belong to; never in a run, a record, an export,
// a log line, a command line or an API answer. The endpoint itself is kept
// without them (SplitEndpoint).
type Credentials struct {
	APIKey string
	User   *url.Userinfo
}

// Authorization is the Authorization header the credentials send: the API
// key when there is one (as the standard HTTP client does, an explicit
// header wins over a URL's user:password), else basic authentication, else
// "".
func (c Credentials) Authorization() string {
	switch {
	case c.APIKey != "":
		return "Bearer " + c.APIKey
	case c.User != nil:
		pw, _ := c.User.Password()
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.User.Username()+":"+pw))
	}
	return ""
}

// SplitEndpoint normalises an engine's base URL (engine.NormalizeEndpoint)
// and takes its user:password out: base never carries it, user is nil when
// there was none. An error never repeats the credentials either.
func SplitEndpoint(raw string) (base string, user *url.Userinfo, err error) {
	clean := strings.TrimSpace(raw)
	if u, perr := url.Parse(clean); perr == nil && u.User != nil {
		user, u.User = u.User, nil
		clean = u.String()
	} else if perr != nil {
		// An unparsable URL: still never echo what may be a password.
		return "", nil, fmt.Errorf("endpoint %q: not a URL (want http://HOST:PORT/v1)", engine.RedactUserinfo(clean))
	}
	base, err = engine.NormalizeEndpoint(clean)
	if err != nil {
		return "", nil, err
	}
	return base, user, nil
}
