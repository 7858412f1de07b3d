package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"flperf/internal/bench"
	"flperf/internal/report"
	"flperf/internal/store"
	"flperf/internal/suite"
)

// dbFlag adds --db to fs; the FLPERF_DB variable sets it too.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "", "SQLite database `file`, or a PostgreSQL URL postgres://user@host/db (default: a file in the user's data directory)")
}

// dbEnv lets FLPERF_DB set --db on every command that has it.
var dbEnv = map[string]bool{"db": true}

// openDB opens the history database at path, or the default one.
func openDB(ctx context.Context, path string) (*store.DB, error) {
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, fmt.Errorf("finding the data directory: %v (pass --db FILE)", err)
		}
		path = p
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// savedSuites is the library of suites saved in the "suites" folder of
// the database's local data directory (store.DataDirOf: beside the SQLite
// file, or the user's data directory for the default database or a
// PostgreSQL one), where the app's suite editor saves them: `flperf run
// --suite NAME` finds them there. It has no directory when the data
// directory cannot be found (built-in suites and files still resolve).
func savedSuites(dbPath string) *suite.Library {
	dir := store.DataDirOf(dbPath)
	if dir == "" {
		return &suite.Library{}
	}
	return &suite.Library{Dir: filepath.Join(dir, "suites")}
}

// simpleCmd parses a history command's flags and opens the database.
type simpleCmd struct {
	name, args, about string
	fs                *flag.FlagSet
	db                *string
	env               *Env
	envOK             map[string]bool // the flags an FLPERF_* variable may set (dbEnv)
}

func newSimpleCmd(env *Env, name, args, about string) *simpleCmd {
	c := &simpleCmd{name: name, args: args, about: about, fs: flag.NewFlagSet(name, flag.ContinueOnError), env: env, envOK: dbEnv}
	c.db = dbFlag(c.fs)
	c.fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: flperf %s %s\n\n%s\n\nFlags:\n", name, args, about)
		printDefaults(env.Stdout, c.fs, c.envOK)
	}
	return c
}

// parse parses args; positional arguments are allowed between and after
// flags. It returns the positional arguments, or an exit code to return.
func (c *simpleCmd) parse(args []string, minPos, maxPos int) ([]string, int, bool) {
	var pos []string
	rest := args
	for {
		if _, err := parseFlagsAllowArgs(c.fs, c.env, rest, c.envOK); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			fmt.Fprintf(c.env.Stderr, "flperf %s: %v\n", c.name, err)
			return nil, ExitUsage, false
		}
		if c.fs.NArg() == 0 {
			break
		}
		pos = append(pos, c.fs.Arg(0))
		rest = c.fs.Args()[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		fmt.Fprintf(c.env.Stderr, "flperf %s: usage: flperf %s %s\n", c.name, c.name, c.args)
		return nil, ExitUsage, false
	}
	return pos, 0, true
}

// fail prints err and returns ExitFailure.
func (c *simpleCmd) fail(err error) int {
	fmt.Fprintf(c.env.Stderr, "flperf %s: %v\n", c.name, err)
	return ExitFailure
}

// flagOneOf checks a flag's value against its allowed set, printing the
// usage error; ok is false when the command must exit with ExitUsage.
func (c *simpleCmd) flagOneOf(flag, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	fmt.Fprintf(c.env.Stderr, "flperf %s: --%s: must be %s or %s, got %q\n", c.name, flag,
		strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1], value)
	return false
}

// openRun opens the database and resolves a run id prefix; the caller
// closes the database when err is nil.
func (c *simpleCmd) openRun(ctx context.Context, prefix string) (*store.DB, string, error) {
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return nil, "", err
	}
	id, err := db.Resolve(ctx, prefix)
	if err != nil {
		db.Close()
		return nil, "", err
	}
	return db, id, nil
}

// runsCmd lists stored runs, newest first.
func runsCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "runs", "[flags]", "Lists stored runs, newest first, with their headline numbers.")
	format := c.fs.String("format", "table", "`format`: table or json")
	limit := c.fs.Int("limit", 50, "show at most `N` runs (0: all)")
	model := c.fs.String("model", "", "only runs that benchmarked this model `id`")
	engineKind := c.fs.String("engine", "", "only runs on this engine `kind`")
	suiteName := c.fs.String("suite", "", "only runs of this suite `name`")
	status := c.fs.String("status", "", "only runs with this `status` (running, completed, interrupted, canceled)")
	if _, code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if !c.flagOneOf("format", *format, "table", "json") {
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	runs, err := db.Runs(ctx, store.Filter{Limit: *limit, Model: *model, Engine: *engineKind, Suite: *suiteName, Status: *status})
	if err != nil {
		return c.fail(err)
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if runs == nil {
			runs = []store.RunInfo{}
		}
		if err := enc.Encode(runs); err != nil {
			return c.fail(err)
		}
		return ExitOK
	}
	if len(runs) == 0 {
		if *model != "" || *engineKind != "" || *suiteName != "" || *status != "" {
			fmt.Fprintf(env.Stderr, "flperf runs: no stored run matches the filters in %s\n", db.Path())
		} else {
			fmt.Fprintf(env.Stderr, "flperf runs: no runs stored in %s yet (flperf run saves every run)\n", db.Path())
		}
		return ExitOK
	}
	// An ORIGIN column when some run was pushed here or pulled from a
	// server: a team server's list says which machine sent each.
	origins := false
	for _, r := range runs {
		origins = origins || r.Origin != nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	head := "ID\tSTARTED\tSTATUS\tENGINE\tMODELS\tSUITE\tOK/N\tERR\tTTFT p50\tDECODE p50\tOUT tok/s"
	if origins {
		head += "\tORIGIN"
	}
	fmt.Fprintln(tw, head)
	for _, r := range runs {
		eng := string(r.Engine.Kind)
		if r.Engine.Simulated {
			eng = "SIMULATED"
		}
		if r.Legacy { // the original's figures are not flperf's: none shown here
			eng = "LEGACY (original FLPerformance)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.ID, r.Started.Local().Format("2006-01-02 15:04"), r.Status, eng,
			strings.Join(r.Models, ","), r.Suite, okOf(r), optPct(r.ErrorRate), optNum(r.TTFTP50, "ms"), optNum(r.DecodeP50, "tok/s"), optNum(r.OutputTokensPerS, ""))
		if origins {
			o := r.Origin.Describe()
			if o == "" {
				o = "here"
			}
			fmt.Fprintf(tw, "\t%s", o)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	return ExitOK
}

func okOf(r store.RunInfo) string {
	if r.Requests == nil || r.OK == nil {
		return "–"
	}
	return fmt.Sprintf("%d/%d", *r.OK, *r.Requests)
}

func optPct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100**v)
}

func optNum(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	s := strconv.FormatFloat(*v, 'f', 1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// showCmd prints a stored run's report, recomputed from its records.
func showCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "show", "RUN [flags]", "Prints a stored run's report: the summary computed from its request records when it was saved (recomputed when records changed since). RUN may be a unique prefix of the run id.")
	format := c.fs.String("format", "table", "`format`: table, json, csv, jsonl or markdown")
	recompute := c.fs.Bool("recompute", false, "recompute every figure from the stored records now, ignoring the stored summary")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	if !c.flagOneOf("format", *format, "table", "json", "csv", "jsonl", "markdown") {
		return ExitUsage
	}
	db, id, err := c.openRun(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if *format == "jsonl" { // the records as stored: no summary to recompute
		if err := bench.Export(ctx, db, id, "jsonl", env.Stdout); err != nil {
			return c.fail(err)
		}
		return ExitOK
	}
	get := db.Run
	if *recompute {
		get = db.RecomputeRun
	}
	res, err := get(ctx, id)
	if err != nil {
		return c.fail(err)
	}
	switch *format {
	case "table":
		if res.EngineSeries, err = db.EngineSeries(ctx, id); err != nil {
			return c.fail(err)
		}
		origin, err := db.RunOrigin(ctx, id)
		if err != nil {
			return c.fail(err)
		}
		err = report.TableFrom(env.Stdout, res, origin.Describe())
	case "json":
		err = report.JSON(env.Stdout, res)
	case "csv":
		err = report.CSV(env.Stdout, res)
	case "markdown":
		err = report.Markdown(env.Stdout, res)
	}
	if err != nil {
		return c.fail(err)
	}
	return ExitOK
}

// deleteCmd deletes stored runs.
func deleteCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "delete", "RUN... [flags]", "Deletes stored runs and all their records. RUN may be a unique prefix of the run id.")
	pos, code, ok := c.parse(args, 1, -1)
	if !ok {
		return code
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	var ids []string
	for _, p := range pos {
		id, err := db.Resolve(ctx, p)
		if err != nil {
			return c.fail(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := db.Delete(ctx, id); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(env.Stdout, "deleted run %s\n", id)
	}
	return ExitOK
}

// parseAge reads "30d", "12h", "90m": Go durations plus a day unit.
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration like 30d or 12h, got %q", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a duration like 30d or 12h, got %q", s)
	}
	return v, nil
}

// pruneCmd deletes old runs.
func pruneCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "prune", "--older-than AGE | --keep N [flags]", "Deletes runs started before AGE ago (30d, 12h; 0s: every run), and/or all but the newest N. Runs still being written, and runs imported from the original FLPerformance, are never deleted (flperf delete removes one).")
	older := c.fs.String("older-than", "", "delete runs started more than `AGE` ago, e.g. 30d or 12h (0s: every run not being written)")
	keep := c.fs.Int("keep", 0, "keep only the newest `N` runs")
	if _, code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	age := time.Duration(-1) // no age given
	var errs []error
	if *older != "" {
		var err error
		if age, err = parseAge(*older); err != nil {
			errs = append(errs, fmt.Errorf("--older-than: %v", err))
		}
	}
	if *keep < 0 {
		errs = append(errs, fmt.Errorf("--keep: must be 1 or more, got %d", *keep))
	}
	if *older == "" && *keep == 0 {
		errs = append(errs, errors.New("say what to delete: --older-than AGE and/or --keep N"))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(env.Stderr, "flperf prune: %v\n", err)
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	n, err := db.Prune(ctx, age, *keep)
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(env.Stdout, "deleted %d runs\n", n)
	return ExitOK
}

// dbCmd: flperf db backup FILE | flperf db path.
func dbCmd(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || (args[0] != "backup" && args[0] != "path") {
		fmt.Fprint(env.Stderr, "Usage:\n  flperf db backup FILE   write a consistent copy of the database while it may be in use\n  flperf db path          print where the database is\n")
		return ExitUsage
	}
	if args[0] == "path" {
		c := newSimpleCmd(env, "db path", "[flags]", "Prints the database file's path.")
		if _, code, ok := c.parse(args[1:], 0, 0); !ok {
			return code
		}
		p := *c.db
		if p == "" {
			var err error
			if p, err = store.DefaultPath(); err != nil {
				return c.fail(err)
			}
		}
		fmt.Fprintln(env.Stdout, store.RedactURL(p)) // a PostgreSQL URL without its password
		return ExitOK
	}
	c := newSimpleCmd(env, "db backup", "FILE [flags]", "Writes a consistent copy of the database (safe while runs are being written). FILE must not exist.")
	pos, code, ok := c.parse(args[1:], 1, 1)
	if !ok {
		return code
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	if err := db.Backup(ctx, pos[0]); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(env.Stdout, "backed up %s to %s\n", db.Path(), pos[0])
	return ExitOK
}
