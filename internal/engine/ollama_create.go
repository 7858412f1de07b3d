package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// CreateOptions describe a model made from a local weights file: what
// Ollama's Modelfile says beside FROM. Empty fields are left out, and the
// engine applies its own defaults (Ollama: the template found in the GGUF,
// when it has one).
type CreateOptions struct {
	Template string // the prompt template (Go text/template syntax, as in a Modelfile's TEMPLATE)
	System   string // the default system message
	// Parameters are a Modelfile's PARAMETER lines as typed values (a
	// number for num_thread, num_ctx…, a list of strings for stop).
	Parameters map[string]any
}

// FileCreator is a Manager that can make a model from a weights file on
// this machine, without any download (Ollama: the file is uploaded as a
// blob, then a model is created from it).
type FileCreator interface {
	CreateFromFile(ctx context.Context, name, path string, opts CreateOptions, progress func(Progress)) error
}

var _ FileCreator = (*OllamaManager)(nil)

// CreateFromFile makes the Ollama model name from the GGUF file at path,
// as `ollama create` does for a Modelfile "FROM ./file.gguf": it hashes
// the file, uploads it (POST /api/blobs/sha256:…) unless the server
// already has that blob (HEAD answers 200), then creates the model (POST
// /api/create with "files", streamed). Progress is reported as Download
// does: the upload's fraction of bytes, then the engine's own statuses
// ("parsing GGUF", "writing manifest", …), then Done. A file that is not
// GGUF is refused before anything is sent.
func (o *OllamaManager) CreateFromFile(ctx context.Context, name, path string, opts CreateOptions, progress func(Progress)) error {
	report := func(p Progress) {
		if progress != nil {
			progress(p)
		}
	}
	fail := func(err error) error {
		report(Progress{Percent: -1, Status: "failed", Done: true, Err: err.Error()})
		return err
	}
	if strings.TrimSpace(name) == "" {
		return fail(errors.New("ollama: create: the model name is empty"))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(fmt.Errorf("ollama: create %q: %v", name, err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("ollama: create %q: %v", name, err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("ollama: create %q: %s is not a regular file", name, path))
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "GGUF" {
		return fail(fmt.Errorf("ollama: create %q: %s is not a GGUF file (it does not start with \"GGUF\")", name, path))
	}
	report(Progress{Percent: -1, Status: "hashing " + filepath.Base(path)})
	digest, err := ollamaFileDigest(ctx, f)
	if err != nil {
		return fail(fmt.Errorf("ollama: create %q: hashing %s: %w", name, path, err))
	}
	if err := o.uploadBlob(ctx, name, f, fi.Size(), digest, report); err != nil {
		return fail(err)
	}
	body := map[string]any{"model": name, "files": map[string]string{filepath.Base(path): digest}, "stream": true}
	if opts.Template != "" {
		body["template"] = opts.Template
	}
	if opts.System != "" {
		body["system"] = opts.System
	}
	if len(opts.Parameters) > 0 {
		body["parameters"] = opts.Parameters
	}
	return o.progressCall(ctx, "create", name, "/api/create", body, progress)
}

// ollamaFileDigest is "sha256:" and the hex SHA-256 of the whole file,
// Ollama's blob name.
func ollamaFileDigest(ctx context.Context, f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// uploadBlob sends the file as the blob digest unless the server has it.
func (o *OllamaManager) uploadBlob(ctx context.Context, name string, f *os.File, size int64, digest string, report func(Progress)) error {
	short := digest[:len("sha256:")+12]
	err := o.call(ctx, "check blob", name, http.MethodHead, "/api/blobs/"+digest, nil, nil)
	var oe *OllamaError
	switch {
	case err == nil:
		report(Progress{Percent: -1, Status: "using existing blob " + short})
		return nil
	case !errors.As(err, &oe) || !oe.NotFound():
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ollama: create %q: %v", name, err)
	}
	status := "uploading " + short
	cr := &countingReader{r: ctxReader{ctx, f}, total: size, report: func(pct float64) { report(Progress{Percent: pct, Status: status}) }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.root+"/api/blobs/"+digest, io.NopCloser(cr))
	if err != nil {
		return fmt.Errorf("ollama: create %q: %v", name, err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := o.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ollama: upload %q: %w", name, context.Cause(ctx))
		}
		return fmt.Errorf("ollama: upload %q: %w: %v", name, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 400 {
		return &OllamaError{Op: "upload", Model: name, Status: resp.StatusCode, Msg: ollamaErrorText(data, resp.Status)}
	}
	return nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// countingReader reports the fraction of total read, at each whole percent.
type countingReader struct {
	r      io.Reader
	n      int64
	total  int64
	last   int64
	report func(pct float64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.total > 0 {
		if pct := min(c.n*100/c.total, 99); pct > c.last {
			c.last = pct
			c.report(float64(pct))
		}
	}
	return n, err
}
