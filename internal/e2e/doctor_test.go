package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The Settings page shows flperf doctor's text (GET /doctor?format=text)
// and its Copy button puts exactly that text on the clipboard.
func TestSettingsDoctorCopy(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	a := startApp(t, filepath.Join(t.TempDir(), "flperf.db"))
	origin := strings.TrimSuffix(a.url, "/")
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin})
		cancel()
		if err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
	b.open(t, a.url+"settings", "settings")
	b.waitFor(t, 30*time.Second, "the doctor's text", `!document.querySelector('#doctor-copy').disabled`)
	shown := eval[string](t, b, `document.querySelector('#doctor-text').textContent`)

	res, err := http.Get(a.url + "api/v1/doctor?format=text")
	if err != nil {
		t.Fatal(err)
	}
	api, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var doc struct {
		Flperf struct {
			Version string `json:"version"`
		} `json:"flperf"`
		Data struct {
			DB struct {
				Path string `json:"path"`
			} `json:"db"`
		} `json:"data"`
	}
	a.get(t, "/doctor", &doc)
	for _, want := range []string{"flperf doctor\n", "  flperf       " + doc.Flperf.Version + " (", "  Database     " + doc.Data.DB.Path + "\n", "integrity ok (PRAGMA integrity_check)", "\nSuggestions\n  - "} {
		if !strings.Contains(shown, want) {
			t.Errorf("the page's text lacks %q:\n%s", want, shown)
		}
	}
	// The text of the API and the page's differ only where the machine changed between the calls (an engine started).
	if !strings.HasPrefix(string(api), "flperf doctor\n") || strings.Count(string(api), "\n") < 10 {
		t.Errorf("GET /doctor?format=text:\n%s", api)
	}

	b.click(t, "#doctor-copy")
	b.waitFor(t, 10*time.Second, "copied", `document.querySelector('#doctor-copied').textContent.includes('Copied')`)
	copied := eval[string](t, b, `navigator.clipboard.readText()`)
	if copied != shown {
		t.Fatalf("clipboard:\n%q\nwant the page's text:\n%q", copied, shown)
	}
	b.noErrors(t, "settings")
}
