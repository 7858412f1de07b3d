package engine

import (
	"context"
	"net"
	"strings"
	"testing"
)

func TestDetectAllListsEveryEngine(t *testing.T) {
	ollama, lms := fakeEngine(t, Ollama), fakeEngine(t, LMStudio)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	p := Prober{
		Ports: []Port{{portOf(t, ollama), Ollama}, {portOf(t, lms), LMStudio}},
		Command: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return []byte("🟢 Model management service is running on " + dead + "/openai/status"), nil
		},
	}
	found := p.DetectAll(context.Background())
	if len(found) != 3 {
		t.Fatalf("found %d engines, want Foundry (refusing) + Ollama + LM Studio: %+v", len(found), found)
	}
	f := found[0]
	if f.Kind != Foundry || f.Healthy || !strings.Contains(f.Note, "nothing accepts connections at "+ln.Addr().String()) ||
		strings.Contains(f.Note, "/flperf/sim") || f.DetectedBy != "foundry service status" {
		t.Fatalf("refusing Foundry endpoint: %+v", f)
	}
	if found[1].Kind != Ollama || !found[1].Healthy || found[1].Version != "0.5.7" || found[2].Kind != LMStudio {
		t.Fatalf("ports: %+v", found[1:])
	}
}

func TestDetectAllNothing(t *testing.T) {
	p := Prober{NoFoundryCLI: true, Ports: []Port{}}
	if found := p.DetectAll(context.Background()); len(found) != 0 {
		t.Fatalf("found %+v on no ports", found)
	}
}
