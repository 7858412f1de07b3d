package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// appDo sends a request without a body to url: the status and the body.
func appDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAppSeesRunKilledElsewhere runs `flperf run` in a child process on the
// app's database, checks that the app lists it as running (and refuses to
// delete it) while it lives, then kills the child with SIGKILL: without a
// restart, the app's list and the run's page show it interrupted, saying
// its process died, and it can be deleted.
func TestAppSeesRunKilledElsewhere(t *testing.T) {
	s := startTestSim(t, slowProfile())
	db := newDB(t)
	app, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", db)
	defer stop()
	c := startPipedChild(t, "run", "--db", db, "--endpoint", s.base, "--model", "slow",
		"--suite", writeFile(t, "one.json", oneSuite), "--requests", "1000", "--warmup", "0", "--format", "jsonl")
	waitFor(t, 40*time.Second, "records on the child's stdout", func() bool {
		select {
		case <-c.done:
			t.Fatalf("the child ended early:\n%s", c.stderr.String())
		default:
		}
		return len(c.seen()) >= 3
	})
	type listed struct {
		Data []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"data"`
	}
	list := func() listed {
		t.Helper()
		code, body := appDo(t, http.MethodGet, app+"api/v1/runs")
		var l listed
		if err := json.Unmarshal([]byte(body), &l); code != http.StatusOK || err != nil || len(l.Data) != 1 {
			t.Fatalf("GET /runs: %d %v %.300s", code, err, body)
		}
		return l
	}
	l := list()
	id := l.Data[0].ID
	if l.Data[0].Status != "running" {
		t.Fatalf("the live child's run is listed %q, want running", l.Data[0].Status)
	}
	if code, body := appDo(t, http.MethodDelete, app+"api/v1/runs/"+id); code != http.StatusConflict {
		t.Fatalf("DELETE of the live child's run: %d %.300s, want 409", code, body)
	}

	c.kill(t)
	if st := list().Data[0].Status; st != "interrupted" {
		t.Errorf("after kill -9 the app lists the run %q, want interrupted", st)
	}
	code, body := appDo(t, http.MethodGet, app+"api/v1/runs/"+id)
	var got struct {
		Data struct {
			Run struct {
				Status   string   `json:"status"`
				Warnings []string `json:"warnings"`
			} `json:"run"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
		t.Fatalf("GET /runs/%s: %d %v %.300s", id, code, err, body)
	}
	if r := got.Data.Run; r.Status != "interrupted" || !strings.Contains(strings.Join(r.Warnings, " "), "killed or crashed") {
		t.Errorf("the killed run's page: status %q, warnings %q; want interrupted, saying its process died", r.Status, r.Warnings)
	}
	if code, body := appDo(t, http.MethodDelete, app+"api/v1/runs/"+id); code != http.StatusOK {
		t.Errorf("DELETE of the killed run: %d %.300s, want 200", code, body)
	}
}
