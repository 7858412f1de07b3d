// Package transfer sends stored runs to a team server (flperf push, flperf
// run --push) and brings them back (flperf pull), over the server's push
// routes (docs/api.md, "Pushing runs"). A push is resumable: records go
// in chunks at their offsets, the server says how many it holds, and a
// push that failed midway, retried in this process or started again
// later, sends only the rest. Both ways are idempotent: a run already
// stored with the same content is not sent again, and one stored with
// other content under the same id is refused, never overwritten.
package transfer

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of a Client.
const (
	DefaultChunkRecords = 5000
	DefaultChunkBytes   = 8 << 20
	DefaultRetries      = 5
	maxAnswer           = 1 << 20 // an envelope answer read from the server
)

// Client talks to one team server.
type Client struct {
	base  *url.URL
	token string
	// HTTP sends the requests (nil: a client that follows no redirect).
	HTTP *http.Client
	// Retries is how many times a step is tried again after a network
	// failure or a 5xx/429 answer (DefaultRetries when 0; -1: none).
	Retries int
	// Backoff is the wait before retry n (from 1); nil: 250 ms doubling to
	// at most 5 s.
	Backoff func(n int) time.Duration
	// ChunkRecords and ChunkBytes bound one chunk of records (defaults
	// DefaultChunkRecords, DefaultChunkBytes; the server takes at most
	// 20,000 records and 16 MiB).
	ChunkRecords, ChunkBytes int
	// Progress, when set, is told the records sent (or received) so far.
	Progress func(done, total int64)
	// Log, when set, is told what happens that the user should know
	// (a retry, a resume).
	Log func(msg string)
	// Host and Tool name this machine and flperf's version in a push's
	// origin.
	Host, Tool string
}

// NewClient checks a server URL and returns a client for it. A token is
// never sent over plain http to a host beyond loopback unless insecure is
// set: anyone on the way could read it.
func NewClient(rawURL, token string, insecure bool) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %v", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://HOST[:PORT], the address `flperf serve` listens on", rawURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q: no user, query or fragment (give the token with --token or FLPERF_TOKEN)", rawURL)
	}
	if u.Scheme == "http" && token != "" && !insecure && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("refusing to send the access token over plain http to %s, where anyone on the way can read it: use https://, or --insecure to send it anyway", u.Host)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token}, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// loopback reports whether host is this machine's loopback.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServerError is an answer of the server's error envelope.
type ServerError struct {
	Status  int
	Kind    string
	Message string
}

// Error says what the server said.
func (e *ServerError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("the server answered %d: %s", e.Status, e.Message)
}

// transient reports whether err may go away when the step is tried again:
// a network failure, a 5xx or a 429; not a refused certificate, nor an
// answer that is not the API's.
func transient(err error) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusTooManyRequests
	}
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &cve), errors.As(err, &rhe), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie),
		errors.Is(err, errAnswer):
		return false
	}
	return true
}

// errAnswer marks an answer that is not the API's envelope.
var errAnswer = errors.New("not an flperf API answer")

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// defaultHTTP follows no redirect (a push's body is not sent twice, nor
// the token elsewhere), and bounds the steps that could hang on a dead
// server; a commit may take minutes before its answer.
var defaultHTTP = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	},
}

func (c *Client) log(format string, a ...any) {
	if c.Log != nil {
		c.Log(fmt.Sprintf(format, a...))
	}
}

// retry runs step until it succeeds, fails for good, or the retries are
// spent, waiting Backoff before each retry.
func (c *Client) retry(ctx context.Context, what string, step func() error) error {
	retries := c.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	for n := 0; ; n++ {
		err := step()
		if err == nil || !transient(err) || n >= retries || ctx.Err() != nil {
			return err
		}
		wait := c.backoff(n + 1)
		c.log("%s: %v; trying again in %s (%d of %d)", what, err, wait, n+1, retries)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (c *Client) backoff(n int) time.Duration {
	if c.Backoff != nil {
		return c.Backoff(n)
	}
	d := 250 * time.Millisecond << min(n-1, 5)
	return min(d, 5*time.Second)
}

// minGzip is the smallest body a request sends gzip-compressed.
const minGzip = 1024

// encodeBody returns body as a request sends it: gzip-compressed (at the
// fastest level) when it holds more than minGzip bytes, with its
// Content-Encoding, or as it is.
func encodeBody(body []byte) (encoded []byte, encoding string) {
	if len(body) <= minGzip {
		return body, ""
	}
	var b bytes.Buffer
	b.Grow(len(body) / 4)
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
	return b.Bytes(), "gzip"
}

// request builds a request to path (below /api/v1) with body, already in
// Content-Encoding encoding ("" or "gzip").
func (c *Client) request(ctx context.Context, method, path string, body []byte, contentType, encoding string) (*http.Request, error) {
	u := *c.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	u.Path += "/api/v1" + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// call sends one request and decodes the envelope's data into out.
func (c *Client) call(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	body, encoding := encodeBody(body)
	return c.callEncoded(ctx, method, path, body, contentType, encoding, out)
}

// callEncoded is call with a body already in Content-Encoding encoding
// (encodeBody's).
func (c *Client) callEncoded(ctx context.Context, method, path string, body []byte, contentType, encoding string, out any) error {
	req, err := c.request(ctx, method, path, body, contentType, encoding)
	if err != nil {
		return err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readAnswer(resp, out)
}

// readAnswer reads an envelope answer of at most maxAnswer bytes.
func readAnswer(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 { // a refusal, however cut
		return &ServerError{Status: resp.StatusCode, Message: fmt.Sprintf("%s with no API answer (%v): is the URL right (https:// or http://, host and port of flperf serve)?", http.StatusText(resp.StatusCode), err)}
	}
	if err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	if len(data) > maxAnswer {
		return &ServerError{Status: resp.StatusCode, Message: fmt.Sprintf("an answer larger than %d bytes: is this an flperf server?", maxAnswer)}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return &ServerError{Status: resp.StatusCode, Message: fmt.Sprintf("a redirect to %s: give that URL instead", resp.Header.Get("Location"))}
	}
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error *struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return &ServerError{Status: resp.StatusCode, Message: fmt.Sprintf("not an flperf API answer (%s): is the URL an flperf server?", resp.Header.Get("Content-Type"))}
	}
	if resp.StatusCode >= 400 || env.Error != nil {
		se := &ServerError{Status: resp.StatusCode}
		if env.Error != nil {
			se.Kind, se.Message = env.Error.Kind, env.Error.Message
		}
		return se
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%w: %v", errAnswer, err)
	}
	return nil
}
