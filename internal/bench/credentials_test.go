package bench

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestSplitEndpoint checks that an endpoint's user:password is taken out
// of the URL, kept for basic authentication, and never repeated in an
// error.
func TestSplitEndpoint(t *testing.T) {
	base, user, err := SplitEndpoint(" http://al%40ce:p%3Ass@127.0.0.1:8080 ")
	if err != nil || base != "http://127.0.0.1:8080/v1" || user == nil {
		t.Fatalf("SplitEndpoint: %q %v %v", base, user, err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("al@ce:p:ss"))
	if got := (Credentials{User: user}).Authorization(); got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
	if got := (Credentials{APIKey: "k", User: user}).Authorization(); got != "Bearer k" {
		t.Errorf("with an API key too: %q, want the key", got)
	}
	if got := (Credentials{}).Authorization(); got != "" {
		t.Errorf("no credentials: %q", got)
	}
	if base, user, err := SplitEndpoint("http://h:1/v1"); err != nil || base != "http://h:1/v1" || user != nil {
		t.Errorf("no userinfo: %q %v %v", base, user, err)
	}
	for _, raw := range []string{"ftp://u:Pa55@h/v1", "http://u:Pa55@[::1", "http://u:Pa55@", "file:///etc/passwd"} {
		if _, _, err := SplitEndpoint(raw); err == nil {
			t.Errorf("SplitEndpoint(%q) succeeded", raw)
		} else if strings.Contains(err.Error(), "Pa55") {
			t.Errorf("SplitEndpoint(%q): the error repeats the password: %v", raw, err)
		}
	}
}
