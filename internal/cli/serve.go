package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"runtime"
	"strconv"
	"sync"

	"flperf/internal/server"
	"flperf/internal/telemetry"
	"flperf/internal/ui"
)

// serveEnv lists the serve flags that an FLPERF_* variable may set.
var serveEnv = map[string]bool{"listen": true, "db": true, "token": true}

// DefaultListen is where the app listens when --listen is not given.
const DefaultListen = "127.0.0.1:8765"

// serveCmd starts the app: the web UI and its API on one address.
func serveCmd(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", DefaultListen, "`address` to serve the app on; a host beyond loopback requires an access token (port 0: a free one)")
	dbPath := fs.String("db", "", "SQLite database `file` (default: the user's data directory)")
	token := fs.String("token", "", "access `token` (16 characters or more) required on every API call; beyond loopback one is always required (default there: a random one); the printed URL carries it")
	open := fs.Bool("open", false, "open the app in the web browser")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM, with --tls-key); TLS 1.2 or newer")
	tlsKey := fs.String("tls-key", "", "the certificate's private key `file` (PEM)")
	rateLimit := fs.Float64("rate-limit", server.DefaultRateLimit, "API requests per second allowed per token (user tokens and --token; 0: no limit); over it: 429 with Retry-After")
	rateBurst := fs.Int("rate-burst", server.DefaultRateBurst, "the most API requests one token may send at once")
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, "Usage: flperf serve [flags]\n\nServes the FLPerformance app (web UI and REST API under /api/v1) on 127.0.0.1 until Ctrl-C;\n"+
			"runs going on when it stops are stopped cleanly and saved.\n\nFlags:\n")
		printDefaults(env.Stdout, fs, serveEnv)
	}
	if _, err := parseFlags(fs, env, args, serveEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitUsage
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf serve: --listen: want HOST:PORT, e.g. %s: %v\n", DefaultListen, err)
		return ExitUsage
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		fmt.Fprintf(env.Stderr, "flperf serve: --listen: port %q is not a number from 0 to 65535 (0: a free one)\n", port)
		return ExitUsage
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(env.Stderr, "flperf serve: --tls-cert and --tls-key go together: give both, or neither")
		return ExitUsage
	}
	if *rateLimit < 0 || *rateBurst < 1 {
		fmt.Fprintf(env.Stderr, "flperf serve: --rate-limit must be 0 or more and --rate-burst 1 or more, got %g and %d\n", *rateLimit, *rateBurst)
		return ExitUsage
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		c, err := server.TLSConfig(*tlsCert, *tlsKey)
		if err != nil {
			fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
			return ExitUsage
		}
		tlsConfig = c
	}
	if *token != "" && len(*token) < server.MinTokenLen {
		fmt.Fprintf(env.Stderr, "flperf serve: --token: at least %d characters, got %d (or leave it out: one is generated where needed)\n", server.MinTokenLen, len(*token))
		return ExitUsage
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitFailure
	}
	defer db.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitFailure
	}
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	tok := *token
	if host == "" {
		host = "0.0.0.0" // ":8765" listens on every interface
	}
	if !server.IsLoopback(host) && tok == "" {
		tok = server.NewToken()
	}
	hasUsers, err := db.HasUsers(ctx)
	if err != nil {
		ln.Close()
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitFailure
	}
	rate := *rateLimit
	if rate == 0 {
		rate = -1 // Options: negative is no limit
	}
	hardware := sync.OnceValue(func() any { return telemetry.Fingerprint(context.WithoutCancel(ctx)) })
	srv, err := server.New(server.Options{DB: db, Listen: net.JoinHostPort(host, port), Token: tok, UI: ui.Handler(),
		RateLimit: rate, RateBurst: *rateBurst, TLS: tlsConfig,
		Hardware: hardware, Log: func(level, msg string) {
			if level != "info" {
				fmt.Fprintf(env.Stderr, "flperf: %s\n", msg)
			}
		}})
	if err != nil {
		ln.Close()
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitFailure
	}
	if !server.IsLoopback(host) && tlsConfig == nil {
		fmt.Fprintf(env.Stderr, "flperf: warning: serving on %s without TLS: tokens and results cross the network in clear; pass --tls-cert and --tls-key\n", host)
	}
	if hasUsers {
		fmt.Fprintln(env.Stderr, "flperf: this server has named users: open the app with ?token=YOUR_USER_TOKEN (flperf users list shows them)")
	}
	u := appURL(host, port, tok, tok != "" && !hasUsers, tlsConfig != nil)
	fmt.Fprintf(env.Stderr, "flperf: app on %s\n", u)
	if *open {
		if err := openBrowser(u); err != nil {
			fmt.Fprintf(env.Stderr, "flperf: opening a browser: %v (open %s yourself)\n", err, u)
		}
	}
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(env.Stderr, "flperf serve: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// appURL is the address to open: the listen host (127.0.0.1 for every
// interface), with the token when one is required, https with TLS.
func appURL(host, port, token string, withToken, https bool) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/"}
	if https {
		u.Scheme = "https"
	}
	if withToken {
		u.RawQuery = url.Values{"token": {token}}.Encode()
	}
	return u.String()
}

// openBrowser opens u in the user's browser, with an argument vector
// (never a shell string).
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	case "darwin":
		cmd = exec.Command("open", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
