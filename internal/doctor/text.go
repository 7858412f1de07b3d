package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people (and for pasting into an issue):
// the same facts as the JSON form, without the timing, so that two reports
// of an unchanged machine read the same.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(label, v string) {
		if v == "" {
			v = "–"
		}
		fmt.Fprintf(&b, "  %-12s %s\n", label, v)
	}
	list := func(label string, vs []string, none string) {
		if len(vs) == 0 {
			line(label, none)
			return
		}
		for i, v := range vs {
			if i > 0 {
				label = ""
			}
			line(label, v)
		}
	}
	bl := r.Flperf
	build := fmt.Sprintf("%s (%s, %s/%s", bl.Version, bl.Go, bl.OS, bl.Arch)
	if bl.Revision != "" {
		build += ", revision " + bl.Revision[:min(12, len(bl.Revision))]
		if bl.Modified {
			build += " modified"
		}
	}
	if bl.CGO != "" {
		build += ", CGO_ENABLED=" + bl.CGO
	}
	build += ")"
	b.WriteString("flperf doctor\n\n")
	line("flperf", build)
	s := r.System
	line("OS", s.OS)
	line("Arch", s.Arch)
	proc := s.Processor
	if s.Family != "" {
		proc += " [" + s.Family + "]"
	}
	if s.Cores != "" {
		proc += ", " + s.Cores
	}
	line("Processor", strings.TrimPrefix(proc, " "))
	mem := ""
	if s.MemoryGiB != nil {
		mem = fmt.Sprintf("%.1f GiB", *s.MemoryGiB)
	}
	line("Memory", mem)
	list("GPUs", s.GPUs, "none found")
	list("NPUs", s.NPUs, "none found")
	line("Power", s.Power)
	if len(s.Notes) > 0 {
		list("Notes", s.Notes, "")
	}

	b.WriteString("\nEngines\n")
	if len(r.Engines) == 0 {
		b.WriteString("  none found (Foundry Local's CLI and the usual ports were tried)\n")
	}
	for _, e := range r.Engines {
		health := "healthy"
		if !e.Healthy {
			health = "NOT answering"
		}
		name := e.Kind
		if e.Version != "" {
			name += " " + e.Version
		}
		if e.Simulated {
			name += " (SIMULATED)"
		}
		fmt.Fprintf(&b, "  %s at %s (found by %s): %s\n", name, e.Endpoint, e.DetectedBy, health)
		if e.Note != "" && e.DetectedBy != r.Foundry.StatusCommand {
			fmt.Fprintf(&b, "    %s\n", e.Note)
		}
	}

	f := r.Foundry
	b.WriteString("\nFoundry Local\n")
	if !f.Installed {
		line("CLI", "not installed (no `foundry` on PATH)")
	} else {
		line("CLI", f.CLIVersion)
		gen := f.Generation
		if gen != "" {
			gen += " (" + f.StatusCommand + ")"
		}
		line("Generation", gen)
		svc := "not running"
		if f.Running {
			svc = "running at " + f.Endpoint + " (the CLI says); port " + f.Port
			if f.Answers {
				svc += "; answers"
			} else {
				svc += "; does NOT answer"
			}
		}
		line("Service", svc)
		if f.ProcessRunning != nil {
			p := "none"
			if *f.ProcessRunning {
				p = strings.Join(f.Processes, ", ")
			}
			line("Processes", p)
		}
		if f.Diagnosis != "" {
			line("Diagnosis", f.Diagnosis)
		}
		for _, st := range f.Status {
			for l := range strings.Lines(st) {
				fmt.Fprintf(&b, "    | %s", strings.TrimRight(l, "\n")+"\n")
			}
		}
	}

	d := r.Data
	b.WriteString("\nData\n")
	if d.Error != "" {
		line("Error", d.Error)
	}
	line("Directory", d.Dir)
	db := d.DB
	var st string
	switch {
	case d.Error != "":
	case !db.Exists:
		st = "not created yet"
	case db.OK && db.Check == "schema": // PostgreSQL (store.Check)
		st = "ok (PostgreSQL: flperf's schema version and runs read)"
	case db.OK:
		st = fmt.Sprintf("%s, integrity ok (PRAGMA %s)", sizeText(db.SizeBytes), orDash(db.Check))
	default:
		st = fmt.Sprintf("%s, DAMAGED OR UNUSABLE: %s", sizeText(db.SizeBytes), strings.Join(db.Problems, "; "))
	}
	line("Database", db.Path)
	line("Check", st)
	if db.SchemaVersion != nil {
		line("Schema", fmt.Sprintf("%d (this build knows %d)", *db.SchemaVersion, db.LatestSchema))
	}
	if db.Runs != nil {
		line("Runs", fmt.Sprint(*db.Runs))
	}

	b.WriteString("\nSuggestions\n")
	for _, sg := range r.Suggestions {
		fmt.Fprintf(&b, "  - %s\n", sg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// sizeText writes a byte count in B, KiB or MiB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
