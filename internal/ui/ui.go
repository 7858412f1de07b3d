// Package ui is FLPerformance's web front end, embedded in the binary: plain
// HTML, CSS and ES modules under static/ (no build step), with Chart.js 4
// vendored under static/vendor/ (see static/vendor/VENDOR.md).
//
// Handler serves it: the files of static/ under /assets/ and index.html for
// every other GET path outside /api/, so that deep links such as /runs/ID
// survive a reload. Every asset is read, hashed and gzip-compressed once, the
// first time Handler is called.
//
// Caching: index.html is rewritten so that it refers to its assets as
// /assets/v-VERSION/NAME, where VERSION is a hash of the whole static tree.
// Those URLs never change content and are served with a one-year immutable
// Cache-Control; modules import each other by relative paths, so they stay
// under the same versioned prefix. Every other response (index.html itself,
// unversioned /assets/NAME) is "no-cache" with a strong ETag, so a browser
// revalidates it with a cheap 304.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var embedded embed.FS

// staticFS is embedded rooted at static/.
var staticFS = mustSub(embedded, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic("ui: embedded tree: " + err.Error()) // cannot happen: dir is embedded above
	}
	return sub
}

// FS returns the static tree as it is in the repository, rooted so that
// index.html is at "index.html" and the modules at "app.js", "pages/…".
// Handler is the way to serve it; FS is for callers that need the files.
func FS() fs.FS { return staticFS }
