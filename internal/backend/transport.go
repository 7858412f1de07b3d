package backend

import (
	"net"
	"net/http"
	"time"
)

// DefaultMaxConns is the connection limit of the default transport.
const DefaultMaxConns = 1024

// NewTransport returns the transport used when Options.HTTPClient is nil,
// tuned for many concurrent streams to one endpoint: HTTP/1.1 with
// keep-alives (one stream per connection, nothing multiplexed), no
// compression (gzip buffers and delays chunks), no proxy (a proxy between
// client and engine would distort every timing), and up to maxConns
// connections per host, all of which may stay idle between requests
// (maxConns <= 0 means DefaultMaxConns). Size maxConns to at least the
// concurrency of the load: requests beyond it wait for a connection inside
// the transport, after their send time. It sets no overall timeout: a
// deadline on the whole request would cap body reads, so Client uses
// contexts instead.
func NewTransport(maxConns int) *http.Transport {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Transport{
		DialContext:         dialer.DialContext,
		Protocols:           protocols,
		DisableCompression:  true,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}
