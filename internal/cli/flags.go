package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// listFlag is a repeatable string flag; "a,b" also adds two values. An
// empty value ("", "a,,b") is an error, never silently nothing.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	var vs []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			return fmt.Errorf("empty value in %q", v)
		}
		vs = append(vs, s)
	}
	*l = append(*l, vs...)
	return nil
}

// optFloat is a float flag that knows whether it was set, so that 0 is a
// value and not "unset" (the original turned temperature 0 into 0.7).
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) String() string {
	if !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

func (o *optFloat) Set(s string) error {
	// ParseFloat, unlike fmt.Sscan, refuses trailing junk ("0.5abc").
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("not a finite number: %q", s)
	}
	o.v, o.set = v, true
	return nil
}

// envPrefix prefixes the environment override of every flag.
const envPrefix = "FLPERF_"

// envName is the environment variable that overrides flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// flagSources says which flags were given, and where.
type flagSources struct {
	cmdline map[string]bool // on the command line
	env     map[string]bool // from an FLPERF_* variable (and not on the command line)
}

// given reports whether the flag was set at all.
func (s flagSources) given(name string) bool { return s.cmdline[name] || s.env[name] }

// parseFlags parses the command line, then applies the FLPERF_* variable of
// every flag in envOK that the command line did not set (the command line
// wins, and a repeatable flag given there does not add to the variable's
// values). On -h it returns flag.ErrHelp after fs.Usage ran; on a bad flag it
// returns the error without running fs.Usage, so that the help text never
// lands on standard output (a report's destination) by mistake.
func parseFlags(fs *flag.FlagSet, env *Env, args []string, envOK map[string]bool) (flagSources, error) {
	src, err := parseFlagsAllowArgs(fs, env, args, envOK)
	if err == nil && fs.NArg() > 0 {
		return src, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	return src, err
}

// parseFlagsAllowArgs is parseFlags for commands that take positional
// arguments: parsing stops at the first one (fs.Args holds the rest).
func parseFlagsAllowArgs(fs *flag.FlagSet, env *Env, args []string, envOK map[string]bool) (flagSources, error) {
	src := flagSources{cmdline: map[string]bool{}, env: map[string]bool{}}
	fs.SetOutput(io.Discard)
	// fs.Parse calls fs.Usage on -h and on every bad flag alike.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return src, err
	}
	fs.Visit(func(f *flag.Flag) { src.cmdline[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if !envOK[f.Name] || src.cmdline[f.Name] {
			return
		}
		if v := env.Getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
			src.env[f.Name] = true
		}
	})
	return src, errors.Join(errs...)
}

// printDefaults lists the flags with their environment overrides.
func printDefaults(w io.Writer, fs *flag.FlagSet, envOK map[string]bool) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		extra := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" && f.DefValue != "[]" {
			extra = " (default " + f.DefValue + ")"
		}
		if envOK[f.Name] {
			extra += " [env " + envName(f.Name) + "]"
		}
		fmt.Fprintf(w, "      %s%s\n", usage, extra)
	})
}
