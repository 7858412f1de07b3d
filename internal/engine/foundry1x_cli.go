package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Foundry Local 1.x web service has no route for the cache or for
// downloads (docs/engines.md §1.8): those go through the `foundry` CLI, run
// with an argument vector, never a shell string.

// foundryCLI is the CLI's executable name, looked up on PATH at each use.
const foundryCLI = "foundry"

// Bounds on the CLI: its listing output, and how long it may keep its
// output open after it exits (a helper process that inherited it).
const (
	foundryCLIMaxOutput = 8 << 20
	foundryCLIWaitDelay = 2 * time.Second
	// foundryCLIListTimeout bounds a listing, which may start the service
	// and fetch the online catalog first; downloads have no such bound.
	foundryCLIListTimeout = 2 * time.Minute
)

// foundryCLIFound reports whether the foundry CLI is on PATH.
func foundryCLIFound() bool {
	_, err := exec.LookPath(foundryCLI)
	return err == nil
}

// foundryNoCLIError is the ErrUnsupported of an operation that needs the
// CLI when it is not on PATH.
func foundryNoCLIError(op, instead string) error {
	return fmt.Errorf("foundry: cannot %s: %w: the Foundry Local 1.x web service has no route for it and the foundry CLI is not on PATH (use %s, and `foundry model download MODEL` to download)",
		op, ErrUnsupported, instead)
}

// foundryCapped is an io.Writer keeping the first n bytes written.
type foundryCapped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (c *foundryCapped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.n - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// runCLI runs foundry with args and returns its combined output (the first
// 8 MiB) and its error (an *exec.ExitError for a non-zero exit status).
func runCLI(ctx context.Context, args ...string) ([]byte, error) {
	path, err := exec.LookPath(foundryCLI)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	out := &foundryCapped{n: foundryCLIMaxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = foundryCLIWaitDelay
	err = cmd.Run()
	return out.buf.Bytes(), err
}

// foundryCLIModel is one variant a CLI listing shows.
type foundryCLIModel struct {
	ID, Alias, Device, EP string
	SizeMB                int64
	Cached                *bool // nil: the listing does not say
}

// model is the row as a Model; what the row leaves out is read from the id.
func (r foundryCLIModel) model() Model {
	family, dev, ep := foundryParseVariantID(r.ID)
	m := Model{ID: r.ID, Alias: foundryOr(r.Alias, family), Device: foundryOr(r.Device, dev),
		ExecutionProvider: foundryOr(r.EP, ep), Downloaded: r.Cached}
	if r.SizeMB > 0 {
		m.SizeBytes = r.SizeMB << 20
	}
	return m
}

// foundryCLIListing is one command that lists variants with their download
// state: its arguments, whether it is asked for JSON, and whether it lists
// the cache (every row downloaded).
type foundryCLIListing struct {
	args      []string
	json      bool
	fromCache bool
}

// foundryCLIListings are the commands tried, in order, to learn which
// variants are downloaded: CLI 0.10+'s documented JSON output first
// (`--output json`: the variant list, whose 0.11 form has a top-level
// "variants" key, the model list and the cache list), then the text tables
// of the same commands as a fallback for CLIs without JSON output (CLI
// 0.10's variant table with a Cached column; the cache listing, ids on CLI
// ≤ 0.8, only aliases on CLI 0.10, which cannot be told apart by variant).
var foundryCLIListings = []foundryCLIListing{
	{[]string{"model", "list", "--variants", "--output", "json"}, true, false},
	{[]string{"model", "list", "--output", "json"}, true, false},
	{[]string{"cache", "list", "--output", "json"}, true, true},
	{[]string{"model", "list", "--variants"}, false, false},
	{[]string{"cache", "list"}, false, true},
}

// cliModels lists the variants the CLI shows with their download state
// (see foundryCLIListings, parseFoundryCLIJSON and parseFoundryCLIList). A
// command asked for JSON that prints a table instead is read as that table.
func (f *FoundryManager) cliModels(ctx context.Context) ([]foundryCLIModel, error) {
	var tried []string
	ctx, cancel := context.WithTimeoutCause(ctx, foundryCLIListTimeout,
		fmt.Errorf("the foundry CLI did not list its models within %v", foundryCLIListTimeout))
	defer cancel()
	for _, l := range foundryCLIListings {
		out, err := runCLI(ctx, l.args...)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		cmdline := "`foundry " + strings.Join(l.args, " ") + "`"
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v: %s", cmdline, err, foundryLastLines(string(out), 2)))
			continue
		}
		if l.json {
			if rows, ok, isJSON := parseFoundryCLIJSON(out, l.fromCache); isJSON {
				if ok {
					return rows, nil
				}
				tried = append(tried, cmdline+" printed JSON without the variants' download state")
				continue
			}
		}
		rows, ok := parseFoundryCLIList(string(out), l.fromCache)
		if ok {
			return rows, nil
		}
		tried = append(tried, fmt.Sprintf("%s printed no table of model ids with their download state: %s", cmdline, foundryLastLines(string(out), 2)))
	}
	return nil, fmt.Errorf("foundry CLI: %s", strings.Join(tried, "; "))
}

// foundryLastLines returns the last n non-empty lines of out, joined by
// " | " and clipped, for error messages.
func foundryLastLines(out string, n int) string {
	var keep []string
	for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	if len(keep) == 0 {
		return "(no output)"
	}
	return foundryClip(strings.Join(keep, " | "), 400)
}

// foundryNoneCachedRE is the CLI's word for an empty cache.
var foundryNoneCachedRE = regexp.MustCompile(`(?i)no models (are )?cached`)

// parseFoundryCLIList reads a model listing of the foundry CLI, tolerantly:
//
//   - CLI 0.10+ tables, bordered with "│" or "|" (`foundry model list
//     --variants`: Model Name | Variant | Type | Device | Execution
//     Provider | Size | Cached, Cached being ● or ○): the id is the Variant
//     (or Model ID, ID) column, the alias Model Name (or Alias);
//   - CLI ≤ 0.8 fixed-width tables (`foundry model list`: Alias Device Task
//     File Size License Model ID, continuation rows without an alias;
//     `foundry cache list`: "💾 alias  id" rows): the id is the last field;
//   - "No models cached on device".
//
// Lines outside the table (server start-up, progress bars, log lines) are
// ignored. ok says the listing gave ids and their download state: a
// listing with a download column, or any listing from the cache command
// (fromCache), whose rows are all downloaded. An empty table is ok when it
// could have said.
func parseFoundryCLIList(out string, fromCache bool) (rows []foundryCLIModel, ok bool) {
	lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' })
	if rows, ok, found := parseFoundryBoxTable(lines, fromCache); found {
		return rows, ok
	}
	if rows, found := parseFoundryFixedTable(lines, fromCache); found {
		return rows, fromCache
	}
	if fromCache && foundryNoneCachedRE.MatchString(out) {
		return nil, true
	}
	return nil, false
}

// foundryRuleChars are the characters of a table's rule lines.
const foundryRuleChars = "│|+-─━┼├┤╭╮╰╯┬┴═╪╞╡┌┐└┘:= \t"

// foundryTableCells splits a bordered table line into trimmed cells; ok is
// false for a line that is not a table row (or is a rule).
func foundryTableCells(line string) (cells []string, ok bool) {
	t := strings.TrimSpace(line)
	sep := "│"
	if !strings.HasPrefix(t, sep) {
		sep = "|"
		if !strings.HasPrefix(t, sep) {
			return nil, false
		}
	}
	if strings.Trim(t, foundryRuleChars) == "" {
		return nil, false
	}
	t = strings.TrimSuffix(strings.TrimPrefix(t, sep), sep)
	cells = strings.Split(t, sep)
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells, true
}

// foundryColumn finds the first header among names (case-insensitive).
func foundryColumn(header []string, names ...string) int {
	for _, n := range names {
		for i, h := range header {
			if strings.EqualFold(h, n) {
				return i
			}
		}
	}
	return -1
}

// parseFoundryBoxTable reads a bordered table (see parseFoundryCLIList);
// found is false when out has none.
func parseFoundryBoxTable(lines []string, fromCache bool) (rows []foundryCLIModel, ok, found bool) {
	var header []string
	for _, l := range lines {
		cells, isRow := foundryTableCells(l)
		if !isRow {
			continue
		}
		if header == nil {
			header = cells
			continue
		}
		if len(cells) != len(header) {
			continue
		}
		rows = append(rows, foundryBoxRow(header, cells))
	}
	if header == nil {
		return nil, false, false
	}
	idCol := foundryColumn(header, "Variant", "Model ID", "ModelId", "Model_Id", "ID")
	cachedCol := foundryColumn(header, "Cached", "Downloaded")
	canSay := cachedCol >= 0 || fromCache
	if idCol < 0 {
		// Aliases only: usable only when nothing is listed at all.
		return nil, canSay && len(rows) == 0, true
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.ID == "" {
			continue
		}
		if cachedCol < 0 && fromCache {
			r.Cached = foundryBool(true)
		}
		kept = append(kept, r)
	}
	return kept, canSay, true
}

// foundryBoxRow reads one data row under header.
func foundryBoxRow(header, cells []string) foundryCLIModel {
	get := func(names ...string) string {
		if i := foundryColumn(header, names...); i >= 0 {
			v := cells[i]
			if v == "—" || v == "-" || v == "·" {
				return ""
			}
			return v
		}
		return ""
	}
	r := foundryCLIModel{
		ID:     get("Variant", "Model ID", "ModelId", "Model_Id", "ID"),
		Alias:  get("Model Name", "Alias", "Name"),
		Device: strings.ToUpper(get("Device")),
		EP:     get("Execution Provider", "ExecutionProvider", "EP", "Provider"),
		SizeMB: foundryParseSizeMB(get("Size", "File Size")),
	}
	if len(strings.Fields(r.ID)) != 1 {
		r.ID = "" // not an id
	}
	if i := foundryColumn(header, "Cached", "Downloaded"); i >= 0 {
		r.Cached = foundryMark(cells[i])
	}
	return r
}

// foundryMark reads a yes/no cell: ● ✓ ✔ yes true → true; ○ · - — no false
// and empty → false; anything else → nil.
func foundryMark(s string) *bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "●", "✓", "✔", "☑", "💾", "yes", "y", "true", "x", "*":
		return foundryBool(true)
	case "○", "·", "-", "—", "", "no", "n", "false", "✗", "✘":
		return foundryBool(false)
	}
	return nil
}

// foundrySizeRE reads "11.5 GB", "756 MB", "10.16GB".
var foundrySizeRE = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?)\s*([KMGT])i?B$`)

// foundryParseSizeMB turns a listed size into whole MiB (0: unknown).
func foundryParseSizeMB(s string) int64 {
	m := foundrySizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v <= 0 || v > 1<<30 {
		return 0
	}
	switch strings.ToUpper(m[2]) {
	case "K":
		v /= 1024
	case "G":
		v *= 1024
	case "T":
		v *= 1024 * 1024
	}
	return int64(v + 0.5)
}

// parseFoundryFixedTable reads a CLI ≤ 0.8 fixed-width listing (see
// parseFoundryCLIList); found is false when out has none. Rows are
// downloaded when fromCache, unknown otherwise.
func parseFoundryFixedTable(lines []string, fromCache bool) (rows []foundryCLIModel, found bool) {
	alias := ""
	for _, l := range lines {
		t := strings.TrimSpace(l)
		rest, disk := strings.CutPrefix(t, "💾")
		if !found && !disk {
			// Before the header ("Alias … Model ID"): start-up and log lines.
			found = strings.Contains(strings.ToLower(t), "model id")
			continue
		}
		found = true
		if t == "" || strings.Trim(t, "-= ") == "" || strings.HasPrefix(t, "[") {
			continue // rules and log lines ("[18:04:33 ERR] …")
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			continue
		}
		first := 0 // continuation rows leave the alias column blank
		if disk || (l[0] != ' ' && l[0] != '\t') {
			alias, first = fields[0], 1
		}
		r := foundryCLIModel{ID: fields[len(fields)-1], Alias: alias}
		for _, fl := range fields[first : len(fields)-1] {
			if u := strings.ToUpper(fl); u == "CPU" || u == "GPU" || u == "NPU" {
				r.Device = u
				break
			}
		}
		if fromCache {
			r.Cached = foundryBool(true)
		}
		rows = append(rows, r)
	}
	return rows, found
}

// foundryCLIFailRE matches the CLI's own failure lines ("Failed:
// Downloading …", "Exception: …", "● error: …"), not its timestamped log
// lines ("[14:20:52 ERR] …"), which also appear in downloads that succeed.
var foundryCLIFailRE = regexp.MustCompile(`(?i)^(?:[●✖✗×!]\s*)?(?:error|exception|failed)\b`)

// foundryEPLineRE matches the progress bars of execution-provider
// downloads that a CLI 0.10+ command may print while it starts the
// service ("CUDAExecutionProvider ━━━━ 100%"): they are not the model's.
var foundryEPLineRE = regexp.MustCompile(`(?i)executionprovider\b`)

// download1x downloads id with `foundry model download <id>` (the 1.x web
// service has no download route), reporting progress as the CLI's lines
// arrive, parsed like the legacy download's ("Total 52.10% Downloading
// model.onnx.data", "[####   ]  40.95 % …"): percentages are clamped to
// 0–100 and never decrease; execution-provider progress bars are reported
// as status only. The download succeeded when the CLI exits with status 0
// and printed no failure line ("Failed: …", "Exception: …", "error: …");
// otherwise the error names the progress reached and the CLI's last
// lines. Without the CLI it is ErrUnsupported. Only ctx bounds it.
func (f *FoundryManager) download1x(ctx context.Context, id string, report func(Progress)) error {
	fail := func(pct float64, err error) error {
		report(Progress{Percent: pct, Done: true, Err: err.Error()})
		return err
	}
	if strings.TrimSpace(id) == "" {
		return fail(-1, errors.New("foundry: download: no model id"))
	}
	path, err := exec.LookPath(foundryCLI)
	if err != nil {
		return fail(-1, foundryNoCLIError("download "+id, "`foundry model download "+id+"`"))
	}
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, path, "model", "download", id)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = foundryCLIWaitDelay
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fail(-1, fmt.Errorf("foundry: download %s: starting `foundry model download`: %v", id, err))
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waited <- err
	}()

	p := foundryProgressParser{pct: -1, report: report}
	var tail []string // the last lines that are not progress
	failLine := ""
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 0, 4096), foundryMaxLine)
	sc.Split(foundryScanLines)
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		if failLine == "" && foundryCLIFailRE.MatchString(t) {
			failLine = foundryClip(t, 2048)
		}
		if foundryEPLineRE.MatchString(t) {
			report(Progress{Percent: p.pct, Status: foundryClip(t, foundryMaxStatus)})
			continue
		}
		p.line(t)
		if !foundryPercentRE.MatchString(t) {
			tail = append(tail, t)
			if len(tail) > 3 {
				tail = tail[1:]
			}
		}
	}
	io.Copy(io.Discard, pr) // after a scan error: let the CLI finish writing
	werr := <-waited
	last := foundryLastLines(strings.Join(tail, "\n"), 3)
	switch {
	case ctx.Err() != nil:
		return fail(p.pct, fmt.Errorf("foundry: download %s interrupted at %s: %w", id, foundryPct(p.pct), context.Cause(ctx)))
	case werr != nil:
		msg := failLine
		if msg == "" {
			msg = last
		}
		return fail(p.pct, fmt.Errorf("foundry: download %s failed at %s: %s (`foundry model download` %v)", id, foundryPct(p.pct), msg, werr))
	case failLine != "":
		return fail(p.pct, fmt.Errorf("foundry: download %s failed at %s: %s", id, foundryPct(p.pct), failLine))
	case sc.Err() != nil:
		return fail(p.pct, fmt.Errorf("foundry: download %s: reading the CLI's output: %v", id, sc.Err()))
	}
	report(Progress{Percent: 100, Status: "downloaded " + id, Done: true})
	return nil
}
