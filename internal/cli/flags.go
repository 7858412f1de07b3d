package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// listFlag is a repeatable string flag; "a,b" also adds two values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
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
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return fmt.Errorf("not a number: %q", s)
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

// parseFlags applies FLPERF_* environment overrides, then the command line
// (which wins). On -h it returns flag.ErrHelp after fs.Usage ran.
func parseFlags(fs *flag.FlagSet, env *Env, args []string, envOK map[string]bool) error {
	fs.SetOutput(io.Discard)
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if !envOK[f.Name] {
			return
		}
		if v := env.Getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// On -h, fs.Parse itself calls fs.Usage, which writes to standard output.
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	return nil
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
