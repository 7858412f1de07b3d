package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tokenLine is what `flperf users add` prints on stdout: the token alone.
var tokenLine = regexp.MustCompile(`^[0-9a-f]{64}\n$`)

// TestUsersCmd checks flperf users add, list and revoke on a real
// database file, and their usage errors.
func TestUsersCmd(t *testing.T) {
	db := newDB(t)
	o := run(t, "users", "list", "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "no users") {
		t.Errorf("list of none: %q", o.stdout)
	}
	o = run(t, "users", "add", "alice", "--role", "admin", "--db", db)
	wantCode(t, o, ExitOK)
	if !tokenLine.MatchString(o.stdout) || !strings.Contains(o.stderr, "added user alice (admin)") {
		t.Fatalf("add: stdout %q stderr %q", o.stdout, o.stderr)
	}
	o2 := run(t, "users", "add", "--db", db, "--role", "viewer", "bob")
	wantCode(t, o2, ExitOK)
	if o2.stdout == o.stdout {
		t.Error("two users got the same token")
	}
	o = run(t, "users", "add", "alice", "--role", "viewer", "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, `user "alice": user exists`) {
		t.Errorf("second alice: %q", o.stderr)
	}
	wantCode(t, run(t, "users", "revoke", "bob", "--db", db), ExitOK)
	o = run(t, "users", "revoke", "bob", "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, `user "bob": no such user`) {
		t.Errorf("revoking bob twice: %q", o.stderr)
	}
	o = run(t, "users", "list", "--db", db)
	wantCode(t, o, ExitOK)
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "alice") || !strings.Contains(lines[1], "admin") ||
		!strings.HasSuffix(lines[1], "active") || !strings.HasPrefix(lines[2], "bob") || !strings.Contains(lines[2], "revoked 20") {
		t.Errorf("list:\n%s", o.stdout)
	}
	for _, args := range [][]string{
		{"users"}, {"users", "add", "carol"}, {"users", "add", "carol", "--role", "root"}, {"users", "add", "a b", "--role", "viewer"},
		{"users", "list", "--role", "admin"}, {"users", "revoke"}, {"users", "drop", "x"}, {"users", "list", "extra"},
	} {
		o := run(t, append(args, "--db", db)...)
		if o.code != ExitUsage || o.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want a usage error", args, o.code, o.stderr)
		}
	}
}

// TestServeWithUsers checks the app of a database with users: it says so,
// takes a user token (loopback included) and refuses a call without one.
func TestServeWithUsers(t *testing.T) {
	db := newDB(t)
	o := run(t, "users", "add", "alice", "--role", "viewer", "--db", db)
	wantCode(t, o, ExitOK)
	tok := strings.TrimSpace(o.stdout)
	u, stop := serveApp(t, nil, "serve", "--db", db, "--listen", "127.0.0.1:0")
	if code, _ := appDo(t, http.MethodGet, u+"api/v1/health"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, body := appDo(t, http.MethodGet, u+"api/v1/whoami?token="+tok); code != http.StatusOK || !strings.Contains(body, `"user":"alice","role":"viewer"`) {
		t.Errorf("alice: %d %s", code, body)
	}
	if code, body := appDo(t, http.MethodDelete, u+"api/v1/runs/x?token="+tok); code != http.StatusForbidden {
		t.Errorf("alice deletes: %d %s", code, body)
	}
	code, stderr := stop()
	if code != ExitOK || !strings.Contains(stderr, "this server has named users") || strings.Contains(stderr, "without TLS") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestServeTLS serves the app with --tls-cert/--tls-key (a certificate
// made in the test): the printed URL is https and answers over TLS 1.2 or
// newer; every interface without TLS warns that tokens travel in clear.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	u, stop := serveApp(t, nil, "serve", "--db", newDB(t), "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Errorf("URL %s", u)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	res, err := client.Get(u + "api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	client.CloseIdleConnections()
	if res.StatusCode != http.StatusOK || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Errorf("health over TLS: %d %s", res.StatusCode, body)
	}
	if code, stderr := stop(); code != ExitOK || strings.Contains(stderr, "without TLS") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	o := run(t, "serve", "--db", newDB(t), "--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", keyFile)
	if o.code != ExitUsage || !strings.Contains(o.stderr, "missing.pem") {
		t.Errorf("missing certificate: exit %d %q", o.code, o.stderr)
	}
	_, stop = serveApp(t, nil, "serve", "--db", newDB(t), "--listen", ":0")
	if _, stderr := stop(); !strings.Contains(stderr, "flperf: warning: serving on 0.0.0.0 without TLS: tokens and results cross the network in clear; pass --tls-cert and --tls-key") {
		t.Errorf("no warning without TLS beyond loopback: %q", stderr)
	}
}
