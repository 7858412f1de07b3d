package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Download fetches id into the service's cache (POST /openai/download,
// docs/engines.md §1.6), reporting progress as the service's lines arrive. id
// is resolved like Resolve (an alias downloads its first variant). A model
// already in /openai/models is not downloaded again: progress gets one
// Done report at 100%. The request has no timeout, only ctx: downloads can
// take hours. The service answers with progress lines in one of two
// framings ("Total 52.10% Downloading model.onnx.data" or
// `("model.onnx.data", 0.52)`), then a JSON result
// ({"success":…,"errorMessage":…} or {"Success":…,"ErrorMessage":…},
// possibly after "[DONE]", possibly over several lines); the result decides.
// Percent never decreases and stays within 0–100 (-1 until a number
// arrives). A failure is returned, with the engine's message, and reported
// as a last Progress with Done and Err set. The 1.x web service has no
// download route: there it runs `foundry model download <id>` and parses
// the CLI's progress lines the same way (ErrUnsupported when the CLI is
// not on PATH).
func (f *FoundryManager) Download(ctx context.Context, id string, progress func(Progress)) error {
	report := func(p Progress) {
		if progress != nil {
			progress(p)
		}
	}
	if f.is1x(ctx) {
		return f.download1x(ctx, id, report)
	}
	fail := func(pct float64, err error) error {
		report(Progress{Percent: pct, Done: true, Err: err.Error()})
		return err
	}
	cached, err := f.ids(ctx, "/openai/models")
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download %s: %w", id, err))
	}
	if foundryListed(cached, id) {
		report(Progress{Percent: 100, Status: id + " is already downloaded", Done: true})
		return nil
	}
	entries, notes, err := f.Catalog(ctx)
	for _, n := range notes {
		f.note("%s", n)
	}
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download %s: %w", id, err))
	}
	pick, err := foundryResolveRules(entries, id, "", foundryLegacyRules(entries))
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download: %w", err))
	}
	e := pick.FoundryEntry
	if foundryListed(cached, e.Name) {
		report(Progress{Percent: 100, Status: e.Name + " is already downloaded", Done: true})
		return nil
	}
	body, err := foundryDownloadBody(e)
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download %s: %w", e.Name, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.root+"/openai/download", bytes.NewReader(body))
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download %s: %w", e.Name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.dl.Do(req)
	if err != nil {
		return fail(-1, fmt.Errorf("foundry: download %s: %w: %v", e.Name, ErrUnreachable, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(-1, fmt.Errorf("foundry: download %s: %w", e.Name, foundryStatusError(resp)))
	}
	p := foundryProgressParser{pct: -1, report: report}
	res, err := p.read(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return fail(p.pct, fmt.Errorf("foundry: download %s interrupted at %s: %w", e.Name, foundryPct(p.pct), err))
	}
	if res == nil {
		return fail(p.pct, fmt.Errorf("foundry: download %s: download ended without a result (last progress %s)", e.Name, foundryPct(p.pct)))
	}
	if res.Success == nil || !*res.Success {
		msg := "the engine gave no reason"
		if res.ErrorMessage != nil && strings.TrimSpace(*res.ErrorMessage) != "" {
			msg = foundryClip(strings.TrimSpace(*res.ErrorMessage), 2048)
		}
		return fail(p.pct, fmt.Errorf("foundry: download %s failed at %s: %s", e.Name, foundryPct(p.pct), msg))
	}
	report(Progress{Percent: 100, Status: "downloaded " + e.Name, Done: true})
	return nil
}

// foundryDownloadBody is the request the legacy SDKs send: the catalog
// entry's Name, Uri, Publisher and PromptTemplate, ProviderType
// "AzureFoundryLocal" (the catalog's "AzureFoundry" is refused).
func foundryDownloadBody(e FoundryEntry) ([]byte, error) {
	type model struct {
		Name           string          `json:"Name"`
		URI            string          `json:"Uri"`
		Publisher      string          `json:"Publisher"`
		ProviderType   string          `json:"ProviderType"`
		PromptTemplate json.RawMessage `json:"PromptTemplate"`
	}
	tmpl := e.PromptTemplate
	if !json.Valid(tmpl) {
		tmpl = json.RawMessage("null")
	}
	return json.Marshal(struct {
		Model            model  `json:"model"`
		Token            string `json:"token"`
		IgnorePipeReport bool   `json:"IgnorePipeReport"`
	}{
		Model: model{Name: e.Name, URI: e.URI, Publisher: e.Publisher, ProviderType: "AzureFoundryLocal", PromptTemplate: tmpl},
		Token: "", IgnorePipeReport: true,
	})
}

// foundryResult is a download's final JSON; keys match case-insensitively
// ("success" and "Success").
type foundryResult struct {
	Success      *bool
	ErrorMessage *string
}

// Download body limits: one line, the final JSON, a status text.
const (
	foundryMaxLine   = 1 << 20
	foundryMaxResult = 1 << 20
	foundryMaxStatus = 200
)

var (
	foundryPercentRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*%`) // "52.10%", and the CLI's "40.95 %"
	foundryTupleRE   = regexp.MustCompile(`^\(\s*["']([^"']*)["']\s*,\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*\)$`)
)

// foundryProgressParser reads a download body line by line.
type foundryProgressParser struct {
	pct    float64 // highest percentage so far, -1 before any
	report func(Progress)
}

// read consumes body, reporting each progress line, and returns the final
// JSON result, or nil when the body ended without one. err is a read
// failure (or an unreadable result).
func (p *foundryProgressParser) read(body io.Reader) (*foundryResult, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), foundryMaxLine)
	sc.Split(foundryScanLines)
	var result []byte // the JSON result so far
	inResult := false
	for sc.Scan() {
		line := sc.Text()
		if inResult {
			if len(result)+len(line) > foundryMaxResult {
				return nil, fmt.Errorf("result larger than %d KiB", foundryMaxResult>>10)
			}
			result = append(append(result, '\n'), line...)
		} else {
			t := strings.TrimSpace(line)
			if t == "" {
				continue
			}
			if i := strings.Index(t, "[DONE]"); i >= 0 {
				if j := strings.IndexByte(t[i:], '{'); j >= 0 {
					inResult, result = true, []byte(t[i+j:])
				} else {
					p.report(Progress{Percent: p.pct, Status: foundryClip(t, foundryMaxStatus)})
					continue
				}
			} else if t[0] == '{' {
				inResult, result = true, []byte(t)
			} else {
				p.line(t)
				continue
			}
		}
		if json.Valid(result) {
			return foundryDecodeResult(result)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if inResult {
		return foundryDecodeResult(result)
	}
	return nil, nil
}

// line applies one progress line.
func (p *foundryProgressParser) line(t string) {
	v, ok := -1.0, false
	if m := foundryTupleRE.FindStringSubmatch(t); m != nil {
		if f, err := strconv.ParseFloat(m[2], 64); err == nil {
			// A fraction; a value above 1 is taken as a percentage.
			if f <= 1 {
				f *= 100
			}
			v, ok = f, true
		}
	} else if m := foundryPercentRE.FindStringSubmatch(t); m != nil {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			v, ok = f, true
		}
	}
	if ok {
		v = min(max(v, 0), 100)
		if v > p.pct {
			p.pct = v
		}
	}
	p.report(Progress{Percent: p.pct, Status: foundryClip(t, foundryMaxStatus)})
}

// foundryDecodeResult decodes the final JSON.
func foundryDecodeResult(b []byte) (*foundryResult, error) {
	var r foundryResult
	// The first JSON value decides; anything after it is ignored.
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		return nil, fmt.Errorf("unreadable final result (%v): %s", err, foundryClip(strings.TrimSpace(string(b)), foundryMaxStatus))
	}
	return &r, nil
}

// foundryScanLines splits at "\n", "\r\n" or a lone "\r" (progress bars
// rewrite their line with "\r").
func foundryScanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, c := range data {
		switch c {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // need the next byte to know
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	if len(data) >= foundryMaxLine {
		return 0, nil, errors.New("progress line longer than 1 MiB")
	}
	return 0, nil, nil
}

// foundryPct formats a percentage for an error ("unknown" when negative).
func foundryPct(p float64) string {
	if p < 0 {
		return "unknown progress"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// foundryClip shortens s to at most n bytes of valid UTF-8.
func foundryClip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !foundryRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// foundryRuneStart reports whether b begins a UTF-8 sequence.
func foundryRuneStart(b byte) bool { return b&0xC0 != 0x80 }
