// Package e2e holds FLPerformance's end-to-end tests: the real app (`flperf
// serve` through cli.Main, on the built-in simulated engine, with a SQLite
// database in a temporary directory) driven in a real headless Chromium by
// chromedp. It has no code outside its tests.
//
// The tests start a benchmark from the Benchmarks page and watch its live
// progress, cancel a run, check the Results page's charts (Chart.js
// instances on numeric axes) and its table against the API's numbers, show
// hostile model output as text, reload deep links, compare runs, fail on
// any console error, exception or Content-Security-Policy violation, and
// save a screenshot of every page (1280×800 and 420 px wide). TestResources
// stores sampled runs (hardware, resource windows, a time series) and
// checks the resources charts (stage boundary lines), the resource tables
// against the API, "–" for figures never sampled, the hardware block, the
// engine's own figures and the energy rows of a comparison.
// TestSuiteEditor creates a suite on the Suites page, sees a bad field's
// message (the command line's) beside the field, fixes it, saves it where
// `flperf run --suite NAME` reads it, runs it on the simulated engine to
// completion, and has a stale second save refused; TestSuiteEditorShape
// adds, moves, copies and removes scenarios and edits the JSON view.
//
// Chromium is looked for at $FLPERF_CHROMIUM, /usr/bin/chromium,
// /usr/bin/chromium-browser and /usr/bin/google-chrome. Without one the
// tests are skipped, unless FLPERF_REQUIRE_BROWSER=1 (CI), where they fail.
// Screenshots go to $FLPERF_ARTIFACTS (default: a temporary directory, not
// kept).
//
// Performance (printed, run with -v):
//
//	go test -run 'TestPerf' -v ./internal/e2e/
//
// TestPerfResults100k stores a run of 100,000 requests and measures the
// Results page from navigation start until its charts and table are drawn;
// TestPerfFirstLoad measures the bytes a first visit transfers.
package e2e
