package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"flperf/internal/record"
)

// The push format (docs/api.md, "Pushing runs") carries a run as its
// header, the export document (Archive) without its records, and its
// records, each one line of compact JSON. Both are encoded as EncodeJSON
// does, so that the same run always gives the same bytes and the same
// digest on every machine.

// DigestPrefix starts every content digest.
const DigestPrefix = "sha256:"

// EncodeJSON encodes v as one line of compact JSON, HTML characters
// unescaped (as `flperf export` writes them), without a final newline.
func EncodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// PushHeader encodes a's header: the archive with no records.
func PushHeader(a *Archive) ([]byte, error) {
	h := *a
	h.Records = nil
	return EncodeJSON(&h)
}

// Digest computes a pushed run's content digest: SHA-256 over the
// SHA-256 of its header and the SHA-256 of its record lines, each line
// followed by a newline. The lines' hash does not depend on the header,
// so a run read once can be hashed before its header (whose summary needs
// every record) is known.
type Digest struct {
	header [sha256.Size]byte
	lines  hash.Hash
}

// NewDigest starts the digest of a run with header.
func NewDigest(header []byte) *Digest {
	d := newLinesDigest()
	d.setHeader(header)
	return d
}

// newLinesDigest starts a digest whose header is set later.
func newLinesDigest() *Digest { return &Digest{lines: sha256.New()} }

// setHeader sets the run's header.
func (d *Digest) setHeader(header []byte) { d.header = sha256.Sum256(header) }

// Add adds the next record line.
func (d *Digest) Add(line []byte) {
	d.lines.Write(line)
	d.lines.Write([]byte{'\n'})
}

// Sum returns the digest, "sha256:" and 64 hex digits.
func (d *Digest) Sum() string {
	h := sha256.New()
	h.Write(d.header[:])
	h.Write(d.lines.Sum(nil))
	return DigestPrefix + hex.EncodeToString(h.Sum(nil))
}

// ArchiveDigest returns the content digest of a whole archive.
func ArchiveDigest(a *Archive) (string, error) {
	h, err := PushHeader(a)
	if err != nil {
		return "", err
	}
	d := NewDigest(h)
	for i := range a.Records {
		line, err := EncodeJSON(&a.Records[i])
		if err != nil {
			return "", err
		}
		d.Add(line)
	}
	return d.Sum(), nil
}

// validDigest reports whether s is a digest as Sum writes it.
func validDigest(s string) bool {
	hexPart, ok := strings.CutPrefix(s, DigestPrefix)
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// DecodePushHeader decodes and checks a pushed run's header: one JSON
// object with no field this flperf does not know (it would be lost), no
// records, an id the app can open and a status other than running.
func DecodePushHeader(header []byte) (*Archive, error) {
	var a Archive
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, pushErrorf(PushInvalid, nil, "header: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, pushErrorf(PushInvalid, nil, "header: trailing data after the run document")
	}
	if a.Records != nil {
		return nil, pushErrorf(PushInvalid, nil, "header: records: must be null in the header (records are sent in chunks)")
	}
	if err := checkArchive(&a); err != nil {
		return nil, pushErrorf(PushInvalid, nil, "header: %v", err)
	}
	if a.Status == Running {
		return nil, pushErrorf(PushInvalid, nil, "run %s is still running: push it once it has ended", a.ID)
	}
	return &a, nil
}

// DecodePushRecord decodes and checks one record line; index is its
// position in the run, for the messages.
func DecodePushRecord(line []byte, index int64) (*record.Record, error) {
	var r record.Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, pushErrorf(PushInvalid, nil, "record %d: %v", index, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, pushErrorf(PushInvalid, nil, "record %d: more than one JSON value on its line", index)
	}
	var probs []string
	bad := func(field, format string, v ...any) { probs = append(probs, field+": "+fmt.Sprintf(format, v...)) }
	nonNeg := func(field string, n int64) {
		if n < 0 {
			bad(field, "must be 0 or more, got %d", n)
		}
	}
	checkRecord("", &r, bad, nonNeg)
	if len(probs) > 0 {
		return nil, pushErrorf(PushInvalid, nil, "record %d: %s", index, strings.Join(probs, "; "))
	}
	if err := r.CheckCounts(); err != nil {
		return nil, pushErrorf(PushInvalid, nil, "record %d (seq %d): %v", index, r.Seq, err)
	}
	return &r, nil
}

// SplitLines splits a chunk body into its record lines: '\n'-separated, a
// final newline optional, no empty line.
func SplitLines(body []byte) ([][]byte, error) {
	body = bytes.TrimSuffix(body, []byte("\n"))
	if len(body) == 0 {
		return nil, nil
	}
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		if len(l) == 0 {
			return nil, pushErrorf(PushInvalid, nil, "line %d of the chunk is empty", i+1)
		}
	}
	return lines, nil
}
