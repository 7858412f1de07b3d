package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// gunzipBody makes r.Body the decompressed body when it is sent with
// Content-Encoding: gzip, bounding it to limit bytes both as sent and as
// decompressed (a small bomb cannot expand beyond it).
func gunzipBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return nil
	case "gzip":
		zr, err := gzip.NewReader(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			return badRequest("", "the body says Content-Encoding: gzip but is not gzip: %v", err)
		}
		r.Body = &gunzipReader{zr: zr, orig: r.Body}
		r.Header.Del("Content-Encoding")
		return nil
	default:
		return badRequest("", "Content-Encoding %s is not supported: send gzip or an uncompressed body", quote(enc))
	}
}

// gunzipReader reads a gzip body; a corrupt stream is a clear error.
type gunzipReader struct {
	zr   *gzip.Reader
	orig io.ReadCloser
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = fmt.Errorf("the gzip body is corrupt: %w", err)
		}
	}
	return n, err
}

func (g *gunzipReader) Close() error { g.zr.Close(); return g.orig.Close() }

// printableName reports whether s is a short printable name (or empty).
func printableName(s string) bool {
	if len(s) > maxOriginText {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}
