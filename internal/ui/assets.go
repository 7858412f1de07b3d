package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// asset is one file ready to serve: its bytes, their gzip form (nil when
// compression does not pay) and their ETags.
type asset struct {
	body   []byte
	gz     []byte
	ctype  string
	etag   string // strong ETag of body, quoted
	gzEtag string // strong ETag of gz, quoted
}

// site is the whole static tree, prepared once.
type site struct {
	version string            // hash of every file's name and content
	assets  map[string]*asset // by path under static/ ("app.js"); index.html excluded
	index   *asset            // index.html, rewritten to versioned asset URLs
}

// contentTypes maps the extensions of the static tree to their media types.
// Explicit, because module scripts need a JavaScript type whatever the
// host's MIME database says.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".md":   "text/markdown; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".map":  "application/json",
}

// contentType returns the media type of name.
func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

// assetsPrefix is the URL prefix of the static files.
const assetsPrefix = "/assets/"

// versionPrefix starts the path segment of a versioned asset URL.
const versionPrefix = "v-"

// loadSite reads, hashes and compresses every file of fsys.
func loadSite(fsys fs.FS) (*site, error) {
	s := &site{assets: map[string]*asset{}}
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: reading the static tree: %w", err)
	}
	sort.Strings(names)
	all := sha256.New()
	var indexBody []byte
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("ui: reading %s: %w", name, err)
		}
		fmt.Fprintf(all, "%s\x00%d\x00", name, len(b))
		all.Write(b)
		if name == "index.html" {
			indexBody = b
			continue
		}
		a, err := newAsset(name, b)
		if err != nil {
			return nil, err
		}
		s.assets[name] = a
	}
	if indexBody == nil {
		return nil, fmt.Errorf("ui: the static tree has no index.html")
	}
	s.version = hex.EncodeToString(all.Sum(nil))[:16]
	idx := bytes.ReplaceAll(indexBody, []byte(`"`+assetsPrefix), []byte(`"`+assetsPrefix+versionPrefix+s.version+"/"))
	if s.index, err = newAsset("index.html", idx); err != nil {
		return nil, err
	}
	return s, nil
}

// newAsset prepares body for serving as name.
func newAsset(name string, body []byte) (*asset, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	a := &asset{body: body, ctype: contentType(name), etag: `"` + tag + `"`, gzEtag: `"` + tag + `.gz"`}
	if !compressible(a.ctype) {
		return a, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("ui: compressing %s: %w", name, err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("ui: compressing %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ui: compressing %s: %w", name, err)
	}
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a, nil
}

// compressible reports whether media type t is worth gzipping (text).
func compressible(t string) bool {
	return strings.HasPrefix(t, "text/") || strings.HasPrefix(t, "application/json") || strings.HasPrefix(t, "image/svg")
}
