package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserCandidates are where Chromium is looked for after $FLPERF_CHROMIUM.
var browserCandidates = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}

// findBrowser returns the browser's path. Without one the test is skipped,
// unless FLPERF_REQUIRE_BROWSER=1 (CI), where it fails.
func findBrowser(t *testing.T) string {
	t.Helper()
	cands := browserCandidates
	if p := os.Getenv("FLPERF_CHROMIUM"); p != "" {
		cands = append([]string{p}, cands...)
	}
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := fmt.Sprintf("no Chromium found (looked at $FLPERF_CHROMIUM and %s): install Debian's chromium package or set FLPERF_CHROMIUM", strings.Join(browserCandidates, ", "))
	if os.Getenv("FLPERF_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (FLPERF_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $FLPERF_ARTIFACTS, else a
// temporary directory that is not kept.
func artifactsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("FLPERF_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser is one headless Chromium tab and what it reported.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// errs are console errors, uncaught exceptions and error log entries
	// (CSP violations among them) since the last take.
	errs []string
	// transfer counts encoded bytes per finished request since the last reset.
	transfer map[network.RequestID]float64
	urls     map[network.RequestID]string
}

// newBrowser starts Chromium with a window of w×h pixels; it is stopped by
// the test's cleanup.
func newBrowser(t *testing.T, w, h int) *browser {
	t.Helper()
	path := findBrowser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{transfer: map[network.RequestID]float64{}, urls: map[network.RequestID]string{}}
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf), chromedp.WithListener(b.onEvent))
	b.ctx = ctx
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	return b
}

// onEvent runs in the tab's event loop: it only records.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			b.errs = append(b.errs, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		b.errs = append(b.errs, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// An API answer of 4xx is logged by the browser as a failed load;
		// the page shows it as data, so it is not an error of the page.
		if e.Level == cdplog.EntryLevelError && !(e.Source == cdplog.EntrySourceNetwork && strings.Contains(e.URL, "/api/")) {
			b.errs = append(b.errs, fmt.Sprintf("log %s: %s %s", e.Source, e.Text, e.URL))
		}
	case *network.EventResponseReceived:
		b.urls[ev.RequestID] = ev.Response.URL
	case *network.EventLoadingFinished:
		b.transfer[ev.RequestID] = ev.EncodedDataLength
	}
}

// takeErrors returns the errors reported since the last call.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errs
	b.errs = nil
	return e
}

// noErrors fails the test if the page reported errors since the last check.
func (b *browser) noErrors(t *testing.T, page string) {
	t.Helper()
	for _, e := range b.takeErrors() {
		t.Errorf("%s: browser reported: %s", page, e)
	}
}

// resetTransfer forgets the transfer counts.
func (b *browser) resetTransfer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.transfer = map[network.RequestID]float64{}
	b.urls = map[network.RequestID]string{}
}

// transferred returns the encoded bytes of every finished request since
// the last reset, in total and per URL.
func (b *browser) transferred() (float64, map[string]float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var total float64
	per := map[string]float64{}
	for id, n := range b.transfer {
		total += n
		per[b.urls[id]] += n
	}
	return total, per
}

// do runs actions with a deadline.
func (b *browser) do(t *testing.T, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates the boolean expression every 50 ms until it is true,
// failing after timeout. (chromedp.Poll builds its predicate with new
// Function, which the app's Content-Security-Policy forbids.)
func (b *browser) waitFor(t *testing.T, timeout time.Duration, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s (%s): last error %v", timeout, what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates to url and waits until the app says the page is drawn
// (window.__flperfReady).
func (b *browser) open(t *testing.T, url, page string) {
	t.Helper()
	b.do(t, 30*time.Second, chromedp.Navigate(url))
	b.waitReady(t, page)
}

// waitReady waits for window.__flperfReady of page (without an error).
func (b *browser) waitReady(t *testing.T, page string) {
	t.Helper()
	b.waitFor(t, 30*time.Second, "page "+page, fmt.Sprintf(`window.__flperfReady && window.__flperfReady.page === %q`, page))
	if e := eval[string](t, b, `(window.__flperfReady && window.__flperfReady.error) || ""`); e != "" {
		t.Fatalf("page %s failed to render: %s", page, e)
	}
}

// screenshot saves the viewport (and, with full, the whole page) as PNG
// files named name in dir.
func (b *browser) screenshot(t *testing.T, dir, name string, full bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if full {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-full.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
