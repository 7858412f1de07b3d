package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"flperf/internal/store"
)

// Limits of the push routes (docs/api.md, "Pushing runs"). Each is a
// bound on the body once decompressed; a gzip body is also bounded as
// sent.
const (
	maxPushBegin    = 64 << 20 // the header: run document, events and series
	maxPushChunk    = 16 << 20 // one chunk of record lines
	maxChunkRecords = 20_000   // record lines in one chunk
	maxOriginText   = 255      // host and tool names a pusher gives
	// pushSlots is how many chunks and commits are handled at once; more
	// wait, so that the server's memory for pushes stays bounded (each
	// slot: a chunk of up to maxPushChunk and its decoded records) however
	// many machines push together.
	pushSlots = 4
)

// pushSlot waits for a free push slot and returns its release, or an
// error when the request ends first.
func (s *Server) pushSlot(r *http.Request) (func(), error) {
	select {
	case s.pushing <- struct{}{}:
		return func() { <-s.pushing }, nil
	case <-r.Context().Done():
		return nil, unavailable("the server is busy with other pushes: try again")
	case <-s.closing:
		return nil, unavailable("the server is shutting down: push again once it is back")
	}
}

// transferAccess is what a push or pull route needs of its caller.
type transferAccess int

const (
	accessPull transferAccess = iota // read a whole run: the "viewer" role
	accessPush                       // store a run here: the "runner" role
)

// authorizeTransfer is the one authorization check of the push and pull
// routes, on top of the route table's role (routeTable: pushes need the
// runner role, pulls the viewer role): it refuses a caller who may not
// have need, and names the caller for a pushed run's origin — the named
// user, "token" for the holder of the single access token, "loopback" for
// the owner of an open loopback server.
func (s *Server) authorizeTransfer(r *http.Request, need transferAccess) (user string, err error) {
	id := identityOf(r)
	role := store.RoleViewer
	if need == accessPush {
		role = store.RoleRunner
	}
	if !id.role.Includes(role) {
		return "", newError(kindForbidden, "", "%s %s needs the %s role; user %s has %s", r.Method, r.URL.Path, role, id.user, id.role)
	}
	switch {
	case id.user != "":
		return id.user, nil
	case id.mode == modeToken:
		return "token", nil
	}
	return "loopback", nil
}

// pushBeginBody is POST /pushes' body.
type pushBeginBody struct {
	Header  jsonRaw `json:"header"`  // the run document without records (store.PushHeader)
	Records int64   `json:"records"` // how many record lines follow
	Digest  string  `json:"digest"`  // store.Digest over header and lines
	Host    string  `json:"host"`    // the pushing machine's host name
	Tool    string  `json:"tool"`    // the pushing flperf's version
}

// jsonRaw keeps a JSON value's bytes as sent.
type jsonRaw []byte

// UnmarshalJSON keeps a copy of data.
func (j *jsonRaw) UnmarshalJSON(data []byte) error {
	*j = append((*j)[:0], data...)
	return nil
}

// handleBeginPush answers POST /pushes: it opens (or resumes) the push of
// a run and says how many of its records this server already holds.
func (s *Server) handleBeginPush(w http.ResponseWriter, r *http.Request) error {
	user, err := s.authorizeTransfer(r, accessPush)
	if err != nil {
		return err
	}
	if err := gunzipBody(w, r, maxPushBegin); err != nil {
		return err
	}
	var b pushBeginBody
	if err := decodeBody(w, r, &b, maxPushBegin); err != nil {
		return err
	}
	switch {
	case len(b.Header) == 0 || string(b.Header) == "null":
		return badRequest("header", "header: the run document (without records) is required")
	case !printableName(b.Host):
		return badRequest("host", "host: at most %d printable characters", maxOriginText)
	case !printableName(b.Tool):
		return badRequest("tool", "tool: at most %d printable characters", maxOriginText)
	}
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	st, err := s.db.BeginPush(r.Context(), store.PushBegin{Header: b.Header, Total: b.Records, Digest: b.Digest,
		Origin: store.PushOrigin{Via: "push", Host: b.Host, User: user, Remote: remote, Tool: b.Tool}})
	if err != nil {
		return pushError(err)
	}
	return writeData(w, http.StatusOK, st)
}

// handlePushStatus answers GET /pushes/{id}.
func (s *Server) handlePushStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := s.pushID(r, accessPush)
	if err != nil {
		return err
	}
	st, err := s.db.PushStatus(r.Context(), id)
	if err != nil {
		return pushError(err)
	}
	return writeData(w, http.StatusOK, st)
}

// handlePushRecords answers PUT /pushes/{id}/records?offset=K: the body
// holds record lines (NDJSON), the first being record K of the run.
func (s *Server) handlePushRecords(w http.ResponseWriter, r *http.Request) error {
	id, err := s.pushID(r, accessPush)
	if err != nil {
		return err
	}
	off, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || off < 0 {
		return badRequest("offset", "offset must be the index of the chunk's first record (0 or more), got %s", quote(r.URL.Query().Get("offset")))
	}
	release, err := s.pushSlot(r)
	if err != nil {
		return err
	}
	defer release()
	if err := gunzipBody(w, r, maxPushChunk); err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-ndjson") {
		return badRequest("", "send the records as Content-Type: application/x-ndjson, one record per line, not %q", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushChunk))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(maxPushChunk)
		}
		return badRequest("", "reading the records: %v", err)
	}
	lines, err := store.SplitLines(body)
	if err != nil {
		return pushError(err)
	}
	if len(lines) > maxChunkRecords {
		return newError(kindTooLarge, "", "a chunk holds at most %d records, got %d", maxChunkRecords, len(lines))
	}
	st, err := s.db.PushRecords(r.Context(), id, off, lines)
	if err != nil {
		return pushError(err)
	}
	return writeData(w, http.StatusOK, st)
}

// handleCommitPush answers POST /pushes/{id}/commit: the run is stored
// whole, or not at all.
func (s *Server) handleCommitPush(w http.ResponseWriter, r *http.Request) error {
	id, err := s.pushID(r, accessPush)
	if err != nil {
		return err
	}
	release, err := s.pushSlot(r)
	if err != nil {
		return err
	}
	defer release()
	deadline(w, 30*time.Minute)
	st, err := s.db.CommitPush(r.Context(), id)
	if err != nil {
		return pushError(err)
	}
	if st.Origin != nil {
		s.logf("info", "run %s stored: %d records pushed from %s by %s", id, st.Total, originName(st.Origin), st.Origin.User)
	}
	return writeData(w, http.StatusOK, st)
}

// handleDropPush answers DELETE /pushes/{id}: an unfinished push is
// abandoned (a stored run is not touched).
func (s *Server) handleDropPush(w http.ResponseWriter, r *http.Request) error {
	id, err := s.pushID(r, accessPush)
	if err != nil {
		return err
	}
	st, err := s.db.PushStatus(r.Context(), id)
	if err != nil {
		return pushError(err)
	}
	if st.State != store.PushReceiving {
		return conflict("run %s is stored, not being pushed: delete it with DELETE /api/v1/runs/%s", id, id)
	}
	if err := s.db.DropPush(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleRunOrigin answers GET /runs/{id}/origin: where a pushed or pulled
// run came from, and its content digest.
func (s *Server) handleRunOrigin(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorizeTransfer(r, accessPull); err != nil {
		return err
	}
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	st, origin, err := s.db.RunDigest(r.Context(), id)
	if err != nil {
		return err
	}
	st.Origin = origin
	return writeData(w, http.StatusOK, st)
}

// handlePullRun answers GET /runs/{id}/pull: the run in the push format, its
// header on the first line and a record per line after it (NDJSON), with
// its id, record count and digest in X-Flperf-Run, X-Flperf-Records and
// X-Flperf-Digest. The run is read as it is sent, a record at a time. A
// failure after the first byte aborts the connection, so that a cut run
// is never taken for a whole one.
func (s *Server) handlePullRun(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorizeTransfer(r, accessPull); err != nil {
		return err
	}
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if j := s.jobs.get(id); j != nil {
		return conflict("run %s is still running here: pull it once it has ended", id)
	}
	s.reap(r.Context())
	src, err := s.db.ReadPushSource(r.Context(), id)
	if err != nil {
		return err
	}
	if src.Status == string(store.Running) {
		return conflict("run %s is still running: pull it once it has ended", id)
	}
	deadline(w, 30*time.Minute)
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("X-Flperf-Run", id)
	h.Set("X-Flperf-Records", strconv.FormatInt(src.Records, 10))
	h.Set("X-Flperf-Digest", src.Digest)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(src.Header)
	bw.WriteByte('\n')
	var n int64
	err = s.db.PushLines(r.Context(), id, 0, func(_ int64, line []byte) error {
		bw.Write(line)
		n++
		return bw.WriteByte('\n')
	})
	if err == nil && n != src.Records {
		err = fmt.Errorf("run %s changed while being read: %d records, then %d", id, src.Records, n)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		s.logf("warn", "pulling run %s: %v", id, err)
		panic(http.ErrAbortHandler) // a cut answer, never a short run
	}
	return nil
}

// pushID authorizes a push route and returns its run id.
func (s *Server) pushID(r *http.Request, need transferAccess) (string, error) {
	if _, err := s.authorizeTransfer(r, need); err != nil {
		return "", err
	}
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return "", badRequest("id", "%s is not a run id: ids are letters, digits and '-'", quote(id))
	}
	return id, nil
}

// pushError maps the store's refusals of a push step to the envelope.
func pushError(err error) error {
	var pe *store.PushError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Kind {
	case store.PushInvalid, store.PushMismatch:
		return badRequest("", "%s", pe.Msg)
	case store.PushConflict, store.PushIncomplete, store.PushGap:
		return conflict("%s", pe.Msg)
	case store.PushBusy:
		return unavailable("%s", pe.Msg)
	case store.PushNoSession:
		return notFound("%s", pe.Msg)
	}
	return err
}

// originName describes where a pushed run came from, for the log.
func originName(o *store.PushOrigin) string {
	if o.Host != "" {
		return fmt.Sprintf("%s (%s)", o.Host, o.Remote)
	}
	return o.Remote
}
