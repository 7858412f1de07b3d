package sim

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestServeShutdown(t *testing.T) {
	checkLeaks(t)
	s, err := New(fast("m"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, err := c.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(EngineHeader) != "simulated" {
		t.Error("no engine header")
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	tr.CloseIdleConnections()
	if resp, err := c.Get(base + "/health"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after shutdown")
	}
}

// TestServeShutdownInFlight checks that shutting down ends a stream that
// would otherwise run for minutes: after the grace period it is cancelled.
func TestServeShutdownInFlight(t *testing.T) {
	checkLeaks(t)
	s, err := New(Profile{Name: "m", DecodeTPS: 10, RoleChunk: true})
	if err != nil {
		t.Fatal(err)
	}
	tr := trace(s)
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	client := &http.Transport{}
	defer client.CloseIdleConnections()
	resp, err := (&http.Client{Transport: client}).Post("http://"+ln.Addr().String()+"/v1/chat/completions", "application/json",
		bytesReader(chatBody("m", "long", true, map[string]any{"max_tokens": 5000})))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitFor(t, "the first token", func() bool { return len(tr.of(1, Chunk)) > 0 })
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
	if d := time.Since(start); d < shutdownGrace/2 {
		t.Errorf("Serve returned after %v, before the grace period", d)
	}
	frames, _ := readSSE(resp.Body)
	for _, f := range frames {
		if f.data == "[DONE]" {
			t.Error("cancelled stream sent [DONE]")
		}
	}
	if e := tr.one(t, 1, End); e.Tokens >= 5000 || e.Tokens < 1 {
		t.Errorf("End.Tokens %d", e.Tokens)
	}
}
