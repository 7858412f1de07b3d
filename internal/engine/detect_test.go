package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:11434":      "http://127.0.0.1:11434/v1",
		"http://127.0.0.1:11434/":     "http://127.0.0.1:11434/v1",
		"http://localhost:8080/v1/":   "http://localhost:8080/v1",
		" https://host:1/openai/v1 ":  "https://host:1/openai/v1",
		"http://127.0.0.1:1/v1?x=1#f": "http://127.0.0.1:1/v1",
		// LM Studio's own API: its non-streaming answers carry the engine's stats.
		"http://127.0.0.1:1234/api/v0":  "http://127.0.0.1:1234/api/v0",
		"http://127.0.0.1:1234/api/v0/": "http://127.0.0.1:1234/api/v0",
	} {
		got, err := NormalizeEndpoint(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x/v1", "127.0.0.1:8080", "http://"} {
		if _, err := NormalizeEndpoint(bad); err == nil {
			t.Errorf("NormalizeEndpoint(%q) accepted", bad)
		}
	}
}

func TestParseFoundryStatus(t *testing.T) {
	cases := []struct {
		out, want string
		ok        bool
	}{
		{"🟢 Model management service is running on http://127.0.0.1:5273/openai/status\n", "http://127.0.0.1:5273", true},
		{"Service is Started on http://127.0.0.1:61234/, PID 4242!", "http://127.0.0.1:61234", true},
		{"Service is already running on http://localhost:5000/.", "http://localhost:5000", true},
		{"State      Running\nPID        777\nWeb URLs   http://127.0.0.1:48077\n", "http://127.0.0.1:48077", true},
		{"🔴 Model management service is not running!\nTo start the service, run: foundry service start", "", false},
		{"running on http://10.0.0.5:5273/openai/status", "", false}, // never a non-loopback host
		{"no url here", "", false},
	}
	for _, c := range cases {
		got, ok := ParseFoundryStatus(c.out)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseFoundryStatus(%q) = %q, %v; want %q, %v", c.out, got, ok, c.want, c.ok)
		}
	}
}

// fakeEngine serves the identifying routes of one engine kind.
func fakeEngine(t *testing.T, kind Kind) *httptest.Server {
	mux := http.NewServeMux()
	js := func(path, body string) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		})
	}
	js("/v1/models", `{"object":"list","data":[{"id":"m","owned_by":"`+map[Kind]string{LlamaCpp: "llamacpp"}[kind]+`"}]}`)
	switch kind {
	case Sim:
		js("/flperf/sim", `{"simulated":true,"engine":"flperf-sim"}`)
	case Ollama:
		js("/api/version", `{"version":"0.5.7"}`)
	case Foundry:
		js("/openai/status", `{"Endpoints":["http://127.0.0.1:5273"]}`)
	case LMStudio:
		js("/api/v0/models", `{"object":"list","data":[{"id":"m","state":"loaded"}]}`)
	case LlamaCpp:
		js("/props", `{"default_generation_settings":{"n_ctx":4096},"build_info":"b4500"}`)
	case SGLang:
		js("/get_server_info", `{"version":"0.4.1"}`)
	case VLLM:
		js("/version", `{"version":"0.7.2"}`)
	}
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestIdentify(t *testing.T) {
	var p Prober
	for _, kind := range []Kind{Sim, Ollama, Foundry, LMStudio, LlamaCpp, SGLang, VLLM, OpenAI} {
		s := fakeEngine(t, kind)
		info, err := p.Identify(context.Background(), s.URL+"/v1")
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if info.Kind != kind {
			t.Errorf("Identify(%s server) = %s", kind, info.Kind)
		}
		if info.Simulated != (kind == Sim) {
			t.Errorf("%s: Simulated = %v", kind, info.Simulated)
		}
	}
}

func TestIdentifyUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var p Prober
	if _, err := p.Identify(context.Background(), "http://"+addr+"/v1"); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

func portOf(t *testing.T, s *httptest.Server) int {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDetectPortsInOrder(t *testing.T) {
	ollama, lms := fakeEngine(t, Ollama), fakeEngine(t, LMStudio)
	p := Prober{NoFoundryCLI: true, Ports: []Port{{portOf(t, lms), LMStudio}, {portOf(t, ollama), Ollama}}}
	d := p.Detect(context.Background())
	if !d.Found || d.Info.Kind != LMStudio || !strings.HasPrefix(d.Info.DetectedBy, "port ") {
		t.Fatalf("Detect = %+v", d)
	}
}

func TestDetectFoundryViaCLI(t *testing.T) {
	f := fakeEngine(t, Foundry)
	var calls [][]string
	p := Prober{
		Ports: []Port{},
		Command: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			calls = append(calls, append([]string{name}, args...))
			if args[0] == "service" {
				return []byte("Unrecognized command or argument 'service'"), errors.New("exit status 1")
			}
			return []byte("State  Running\nWeb URLs   " + f.URL + "\n"), nil
		},
	}
	d := p.Detect(context.Background())
	if !d.Found || d.Info.Kind != Foundry || d.Info.DetectedBy != "foundry server status" || d.Info.Endpoint != f.URL+"/v1" {
		t.Fatalf("Detect = %+v", d)
	}
	if len(calls) != 2 || strings.Join(calls[0], " ") != "foundry service status" {
		t.Fatalf("commands run: %v", calls)
	}
}

func TestDetectFoundryRefusingConnections(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	p := Prober{
		Ports: []Port{},
		Command: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return []byte("🟢 Model management service is running on " + dead + "/openai/status"), nil
		},
	}
	d := p.Detect(context.Background())
	if d.Found {
		t.Fatalf("found %+v on a dead port", d.Info)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "reports "+dead+"/v1, but nothing accepts connections at "+ln.Addr().String()) ||
		strings.Contains(d.Notes[0], "/flperf/sim") || strings.Contains(d.Notes[0], "ARM64") != (foundryPlatform == "windows/arm64") {
		t.Fatalf("notes = %q", d.Notes)
	}
}
