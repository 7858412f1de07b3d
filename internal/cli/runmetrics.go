package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"flperf/internal/runner"
	"flperf/internal/selfmetrics"
	"flperf/internal/server"
)

// metricsListenAddr checks --metrics-listen and --metrics-token and
// returns the address to listen on ("" when off). A port alone listens on
// loopback; HOST:PORT as given (":PORT": every interface, as for serve).
// A host beyond loopback needs a token, and a token has MinTokenLen
// characters or more.
func metricsListenAddr(listen, token string) (string, error) {
	if listen == "" {
		if token != "" {
			return "", errors.New("--metrics-token without --metrics-listen")
		}
		return "", nil
	}
	addr := listen
	if _, err := strconv.Atoi(listen); err == nil {
		addr = net.JoinHostPort("127.0.0.1", listen)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-listen %q: want HOST:PORT or a port (loopback), e.g. 127.0.0.1:9464", listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("--metrics-listen %q: port %q is not a number from 0 to 65535 (0: a free one)", listen, port)
	}
	if token != "" && len(token) < server.MinTokenLen {
		return "", fmt.Errorf("--metrics-token: at least %d characters, got %d", server.MinTokenLen, len(token))
	}
	if (host == "" || !server.IsLoopback(host)) && token == "" {
		return "", fmt.Errorf("--metrics-listen %q reaches beyond loopback: it needs --metrics-token (or FLPERF_METRICS_TOKEN) of %d characters or more", listen, server.MinTokenLen)
	}
	return addr, nil
}

// runMetrics is the /metrics listener of `flperf run --metrics-listen`:
// it serves the run's figures from before the first request until the
// run ends. A nil *runMetrics (the flag not given) does nothing.
type runMetrics struct {
	m    *selfmetrics.Metrics
	hs   *http.Server
	done chan struct{}
	once sync.Once
}

// startRunMetrics listens on addr (from metricsListenAddr; "": off) and
// prints the address to scrape.
func startRunMetrics(env *Env, addr, token string) (*runMetrics, error) {
	if addr == "" {
		return nil, nil
	}
	m := selfmetrics.New()
	host, _, _ := net.SplitHostPort(addr)
	if host == "" {
		host = "0.0.0.0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	h, err := server.MetricsHandler(net.JoinHostPort(host, port), token, m)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	rm := &runMetrics{m: m, done: make(chan struct{}),
		hs: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, MaxHeaderBytes: 64 << 10}}
	go func() {
		defer close(rm.done)
		_ = rm.hs.Serve(ln) // ErrServerClosed once close is called
	}()
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: server.MetricsPath}
	fmt.Fprintf(env.Stderr, "flperf: metrics on %s for the run's duration\n", u.String())
	return rm, nil
}

// attach feeds the run's records and requests into the metrics.
func (rm *runMetrics) attach(r *runner.Runner) {
	if rm == nil {
		return
	}
	r.Sinks = append(r.Sinks, rm.m)
	r.Client = rm.m.Doer(r.Client)
	rm.m.RunStarted()
}

// ended counts the run's status.
func (rm *runMetrics) ended(st runner.Status) {
	if rm != nil {
		rm.m.RunEnded(string(st))
	}
}

// close stops the listener: a scrape going on may finish within a second,
// then every connection is closed. Safe to call more than once.
func (rm *runMetrics) close() {
	if rm == nil {
		return
	}
	rm.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := rm.hs.Shutdown(ctx); err != nil {
			rm.hs.Close()
		}
		<-rm.done
	})
}
