package backend

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// connPolicy is how a Client uses connections to its endpoint.
//
// Connections are kept alive and reused until the server is seen closing
// one right after an answer: a request sent on a reused connection got EOF
// or a reset before any response byte, within closeAfterAnswer of that
// connection's previous answer (llama.cpp's server closes the connection
// after every streamed answer while announcing keep-alive; any server or
// proxy may close an idle one). Such a request never reached the engine: it
// is sent once more on a new connection and counted (Record.ConnRetries),
// and from then on every request opens a connection of its own, so that no
// request meets a closed one. Anything else that fails stays a failure: a
// new connection that fails, a failure after a response byte, a timeout.
type connPolicy struct {
	fresh   *http.Client  // a client that never reuses a connection; nil: hc with Request.Close
	window  time.Duration // closeAfterAnswer
	newEach atomic.Bool   // open a new connection for every request
	note    atomic.Pointer[string]
}

// closeAfterAnswer tells a server that closes the connection after its
// answer from an idle timeout (seconds long: llama.cpp's is 5 s): a reused
// connection found closed after less idle time than this was closed right
// after its previous answer.
const closeAfterAnswer = time.Second

// connTrace is what httptrace says of the connections one sending used.
type connTrace struct {
	gets    atomic.Int32 // GetConn calls: more than one means the transport sent the request again by itself
	lastGet atomic.Int64 // offset of the last GetConn from t_send
	reused  atomic.Bool  // GotConn: the connection had carried an earlier request
	idle    atomic.Int64 // GotConn: how long it had been idle, ns
}

func (t *connTrace) getConn(sent time.Time) {
	t.gets.Add(1)
	t.lastGet.Store(int64(time.Since(sent)))
}

func (t *connTrace) gotConn(info httptrace.GotConnInfo) {
	t.reused.Store(info.Reused)
	t.idle.Store(int64(info.IdleTime))
}

func (t *connTrace) reset() {
	t.gets.Store(0)
	t.lastGet.Store(0)
	t.reused.Store(false)
	t.idle.Store(0)
}

// freshClient returns a copy of hc whose transport never reuses a
// connection, or nil when its transport is not an *http.Transport (it is
// then asked for a new connection with Request.Close).
func freshClient(hc *http.Client) *http.Client {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil
	}
	t = t.Clone()
	t.DisableKeepAlives = true
	f := *hc
	f.Transport = t
	return &f
}

// ConnectionReuse says how connections to the endpoint were used: "" while
// they were kept alive and reused, else why every request opened its own.
func (c *Client) ConnectionReuse() string {
	if p := c.conns.note.Load(); p != nil {
		return *p
	}
	return ""
}

// newConnNote is ConnectionReuse once the server was seen closing connections.
const newConnNote = "new connection per request: the server closed its connection right after an answer " +
	"(a request sent on it got no response), so each request opened its own"

// client returns the client that sends hreq: hc, or a new connection for
// it once the policy says so (with fresh false, only then).
func (c *Client) client(hreq *http.Request, fresh bool) *http.Client {
	if !fresh && !c.conns.newEach.Load() {
		return c.hc
	}
	if c.conns.fresh != nil {
		return c.conns.fresh
	}
	hreq.Close = true
	if fresh {
		c.hc.CloseIdleConnections() // the pool's connections may be closed too
	}
	return c.hc
}

// send issues hreq, just built by post after begin stamped t_send, and
// returns its response. When the server had closed the reused connection
// it went out on before any response byte, it builds the request again,
// stamps t_send anew and sends it once on a new connection (see
// connPolicy). A sending the transport repeated by itself (a RoundTripper
// other than net/http's, which never does: post sets no GetBody) is counted
// in the same way, and t_send moved to the last one.
func (a *attempt) send(hreq *http.Request) (*http.Response, error) {
	c := a.c
	resp, err := c.client(hreq, false).Do(hreq)
	a.repeated()
	if err == nil || !a.connClosed(err) {
		return resp, err
	}
	again, berr := a.post(a.url, a.body, a.accept, a.auth)
	if berr != nil {
		return nil, err
	}
	if time.Duration(a.conn.idle.Load()) < c.conns.window && c.conns.newEach.CompareAndSwap(false, true) {
		note := newConnNote
		c.conns.note.Store(&note)
	}
	a.retried = true
	a.rec.ConnRetries++
	a.connected.Store(false)
	a.firstByte.Store(0)
	a.conn.reset()
	a.begin(a.scheduled)
	resp, err = c.client(again, true).Do(again)
	a.repeated()
	return resp, err
}

// connClosed reports whether err says that the server closed the reused
// connection before a response byte came back, with nothing else at fault,
// for the first time in this attempt.
func (a *attempt) connClosed(err error) bool {
	return !a.retried && a.conn.reused.Load() && a.firstByte.Load() == 0 && a.ctx.Err() == nil && closedConn(err)
}

// repeated counts the sendings the transport made by itself in one Do
// (GetConn more than once) and moves t_send to the last one's.
func (a *attempt) repeated() {
	n := a.conn.gets.Load()
	if n <= 1 {
		return
	}
	a.rec.ConnRetries += int(n - 1)
	shift := time.Duration(a.conn.lastGet.Load())
	a.conn.gets.Store(1)
	if shift <= 0 {
		return
	}
	rec := a.rec
	if rec.Scheduled.Equal(a.sent) {
		rec.Scheduled = rec.Scheduled.Add(shift)
	}
	a.sent = a.sent.Add(shift)
	rec.Sent, a.st.sent = a.sent, a.sent
	if fb := a.firstByte.Load(); fb > 0 {
		a.firstByte.Store(max(fb-int64(shift), 1))
	}
}

// closedConn reports whether err is a connection closed by the peer: EOF,
// a reset or a broken pipe, or net/http's "server closed idle connection".
func closedConn(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		for _, e := range closedErrnos {
			if errno == e {
				return true
			}
		}
	}
	return strings.Contains(err.Error(), "server closed idle connection")
}
