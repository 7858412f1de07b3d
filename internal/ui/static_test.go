package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// ownFiles returns the static files we wrote (not vendored) with extension ext.
func ownFiles(t *testing.T, ext string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "vendor" {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ext) {
			out[p] = string(staticFile(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s files", ext)
	}
	return out
}

var (
	staticImportRE  = regexp.MustCompile(`(?m)^\s*import\s[^'"]*?from\s+'([^']+)'`)
	dynamicImportRE = regexp.MustCompile(`import\(\s*'([^']+)'\s*\)`)
	pageRE          = regexp.MustCompile(`page:\s*'([a-z-]+)',\s*nav:`)
	namedImportRE   = regexp.MustCompile(`(?ms)^\s*import\s*\{([^}]*)\}\s*from\s+'([^']+)'`)
	exportRE        = regexp.MustCompile(`(?m)^export\s+(?:async\s+)?(?:function|const|let|class)\s+([A-Za-z_$][\w$]*)`)
)

// TestModuleGraph: every import of every module resolves to a file of the
// tree, every imported name is exported by it, and every page the router
// names exists and exports render. A typo here would only show as a blank
// page in a browser.
func TestModuleGraph(t *testing.T) {
	js := ownFiles(t, ".js")
	exports := map[string]map[string]bool{}
	for name, src := range js {
		exports[name] = map[string]bool{}
		for _, m := range exportRE.FindAllStringSubmatch(src, -1) {
			exports[name][m[1]] = true
		}
	}
	for name, src := range js {
		var specs []string
		for _, m := range staticImportRE.FindAllStringSubmatch(src, -1) {
			specs = append(specs, m[1])
		}
		for _, m := range dynamicImportRE.FindAllStringSubmatch(src, -1) {
			specs = append(specs, m[1])
		}
		for _, s := range specs {
			if !strings.HasPrefix(s, "./") && !strings.HasPrefix(s, "../") {
				t.Errorf("%s imports %q: only relative imports stay under the versioned prefix", name, s)
				continue
			}
			target := path.Join(path.Dir(name), s)
			if _, ok := js[target]; !ok {
				t.Errorf("%s imports %q: no such module (%s)", name, s, target)
			}
		}
		for _, m := range namedImportRE.FindAllStringSubmatch(src, -1) {
			target := path.Join(path.Dir(name), m[2])
			for n := range strings.SplitSeq(m[1], ",") {
				n = strings.TrimSpace(n)
				if before, _, ok := strings.Cut(n, " as "); ok {
					n = strings.TrimSpace(before)
				}
				if n != "" && exports[target] != nil && !exports[target][n] {
					t.Errorf("%s imports %s from %s, which does not export it", name, n, target)
				}
			}
		}
	}
	pages := pageRE.FindAllStringSubmatch(js["app.js"], -1)
	if len(pages) < 6 {
		t.Fatalf("app.js routes name %d pages", len(pages))
	}
	for _, m := range pages {
		p := "pages/" + m[1] + ".js"
		if !exports[p]["render"] {
			t.Errorf("route page %q: %s missing or without an exported render", m[1], p)
		}
	}
}

// TestCSPClean: nothing in our files needs what the Content-Security-Policy
// forbids (inline scripts and styles, eval, other origins), and no HTML
// string is ever parsed: text goes in through dom.js only.
func TestCSPClean(t *testing.T) {
	forbidden := []*regexp.Regexp{
		regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment`),
		regexp.MustCompile(`\beval\s*\(|new\s+Function\s*\(|setTimeout\(\s*['"]`),
		regexp.MustCompile(`(?i)(src|href)\s*[:=]\s*['"]?https?://`),
		regexp.MustCompile(`(?i)from\s+['"]https?:|import\(\s*['"]https?:|\bcdn\b`),
		regexp.MustCompile(`setAttribute\(\s*['"](style|on[a-z]+)['"]`),
	}
	for _, ext := range []string{".js", ".html", ".css"} {
		for name, src := range ownFiles(t, ext) {
			for _, re := range forbidden {
				if m := re.FindString(src); m != "" {
					t.Errorf("%s: %q is not allowed (CSP / untrusted text)", name, m)
				}
			}
		}
	}
	index := string(staticFile(t, "index.html"))
	if regexp.MustCompile(`(?i)<script(\s+type="module")?\s*>`).MatchString(index) {
		t.Error("index.html has an inline script")
	}
	if regexp.MustCompile(`(?i)\sstyle\s*=|<style|\son[a-z]+\s*=`).MatchString(index) {
		t.Error("index.html has an inline style or event handler")
	}
}

// TestVendoredChartJS: the vendored file is the one VENDOR.md records, with
// its licence next to it.
func TestVendoredChartJS(t *testing.T) {
	doc := string(staticFile(t, "vendor/VENDOR.md"))
	m := regexp.MustCompile("sha256 of the file \\| `([0-9a-f]{64})`").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("VENDOR.md records no sha256 of the file")
	}
	sum := sha256.Sum256(staticFile(t, "vendor/chart.umd.min.js"))
	if got := hex.EncodeToString(sum[:]); got != m[1] {
		t.Errorf("chart.umd.min.js sha256 %s, VENDOR.md says %s", got, m[1])
	}
	if !strings.Contains(string(staticFile(t, "vendor/chart.js.LICENSE.md")), "MIT License") {
		t.Error("chart.js.LICENSE.md is not the MIT licence")
	}
	if !strings.Contains(string(staticFile(t, "vendor/chart.umd.min.js"))[:200], "Chart.js v4.") {
		t.Error("chart.umd.min.js is not Chart.js 4")
	}
}

// TestFirstLoadBudget: the compressed size of what a first visit can fetch
// (index, style, icon, every module and Chart.js) stays under 500 KB. The
// browser test measures the real transfer; this catches growth early.
func TestFirstLoadBudget(t *testing.T) {
	s, err := loaded()
	if err != nil {
		t.Fatal(err)
	}
	total := len(s.index.gz)
	for name, a := range s.assets {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		n := len(a.body)
		if a.gz != nil {
			n = len(a.gz)
		}
		total += n
	}
	t.Logf("everything a visit can load: %d bytes compressed", total)
	if total > 500_000 {
		t.Errorf("static tree is %d bytes compressed, budget 500 KB", total)
	}
}
