package htmlreport

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"sync"

	"flperf/internal/report"
	"flperf/internal/stats"
	"flperf/internal/ui"
)

//go:embed page.html.tmpl
var pageText string

//go:embed report.js
var reportJS string

//go:embed report.css
var reportCSS string

// chartLibPath is the vendored Chart.js in the app's static tree.
const chartLibPath = "vendor/chart.umd.min.js"

// The template shows a model by report.ModelName (a file-path id by its
// file name), its full id in the title.
var page = template.Must(template.New("page").Funcs(template.FuncMap{"name": report.ModelName}).Parse(pageText))

// chartLib reads the vendored Chart.js once.
var chartLib = sync.OnceValues(func() (string, error) {
	b, err := fs.ReadFile(ui.FS(), chartLibPath)
	return string(b), err
})

// scriptEnd finds what would end or upset an inline script element early.
var scriptEnd = regexp.MustCompile(`(?i)</script|<!--`)

// inline is one inline script or style element: its exact text and the
// CSP source of its hash.
type inline struct {
	tag, attrs, body string
}

func (e inline) hash() string {
	sum := sha256.Sum256([]byte(e.body))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (e inline) html() template.HTML {
	return template.HTML("<" + e.tag + e.attrs + ">" + e.body + "</" + e.tag + ">")
}

// data is the JSON the script draws from: per run, the summaries the app's
// API serves (groups, models), the binned distributions and the curve.
type data struct {
	Runs []runData `json:"runs"`
}

type runData struct {
	Prefix string        `json:"prefix"`
	ID     string        `json:"id"`
	Groups []stats.Group `json:"groups"`
	Models []stats.Group `json:"models"`
	Dists  []Dist        `json:"dists"`
	Curve  *report.Curve `json:"curve"`
	// ContextSweep is a context sweep's figures, the API's context_sweep;
	// null for any other run.
	ContextSweep *report.ContextSweep `json:"context_sweep"`
	Best         json.RawMessage      `json:"best"`
	// Names maps each model id the charts label that is shown otherwise
	// (report.ModelName: a file path by its file name).
	Names map[string]string `json:"names"`
}

// namesOf maps the model ids of a run's groups that report.ModelName shows
// otherwise to their shown names.
func namesOf(groups ...[]stats.Group) map[string]string {
	names := map[string]string{}
	for _, gs := range groups {
		for _, g := range gs {
			if n := report.ModelName(g.Model); n != g.Model {
				names[g.Model] = n
			}
		}
	}
	return names
}

// jsonBlock is v as JSON that is safe inside a script element: '<', '>'
// and '&' (encoding/json's HTML escaping) and U+2028/U+2029 (always
// escaped by encoding/json) never appear raw.
func jsonBlock(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Write writes rep as one HTML document.
func Write(w io.Writer, rep *Report) error {
	lib, err := chartLib()
	if err != nil {
		return fmt.Errorf("reading the chart library: %w", err)
	}
	d := data{Runs: []runData{}}
	pv := pageView{Generated: rep.Generated.Local().Format("2006-01-02 15:04:05 MST"), Compare: newCompareView(rep)}
	var ids []string
	for i := range rep.Runs {
		r := &rep.Runs[i]
		v := newRunView(i, r)
		pv.Runs = append(pv.Runs, v)
		ids = append(ids, r.Result.ID)
		best, err := json.Marshal(r.Best)
		if err != nil {
			return err
		}
		d.Runs = append(d.Runs, runData{Prefix: v.Prefix, ID: r.Result.ID, Groups: r.Result.Groups, Models: r.Result.Models, Dists: r.Dists, Curve: r.Curve, ContextSweep: r.Sweep, Best: best,
			Names: namesOf(r.Result.Groups, r.Result.Models)})
	}
	pv.Title = "FLPerformance report: run " + strings.Join(ids, " and ")
	js, err := jsonBlock(d)
	if err != nil {
		return err
	}
	scripts := []inline{{tag: "script", body: lib}, {tag: "script", body: reportJS}}
	for _, s := range scripts {
		if scriptEnd.MatchString(s.body) {
			return fmt.Errorf("an inline script holds </script or <!--: it cannot be inlined")
		}
	}
	style := inline{tag: "style", body: reportCSS}
	csp := "default-src 'none'; script-src " + scripts[0].hash() + " " + scripts[1].hash() +
		"; style-src " + style.hash() + "; img-src data:; base-uri 'none'; form-action 'none'"
	var buf bytes.Buffer
	err = page.Execute(&buf, map[string]any{
		"Page":    pv,
		"CSP":     csp,
		"Style":   style.html(),
		"Data":    template.HTML(`<script type="application/json" id="flperf-data">` + js + `</script>`),
		"Scripts": []template.HTML{scripts[0].html(), scripts[1].html()},
		"Heads":   groupHeads(),
	})
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
