package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"flperf/internal/store"
)

// Limits on what a pull reads: a header line, a record line.
const (
	maxHeaderLine = 64 << 20
	maxRecordLine = 16 << 20
	pullChunk     = 2000 // records stored locally at a time
)

// PullResult is how a pull ended.
type PullResult struct {
	State   store.PushState // the local state: stored
	Already bool            // the local database already held the run
}

// Pull fetches run id (or a unique prefix of it) from the server into db.
// The run is stored whole or not at all, with the server as its origin;
// a run already held with the same content is left as it is, one with
// other content under the same id is refused.
func (c *Client) Pull(ctx context.Context, db *store.DB, id string) (*PullResult, error) {
	var resp *http.Response
	err := c.retry(ctx, "fetching run "+id, func() error {
		req, err := c.request(ctx, http.MethodGet, "/runs/"+url.PathEscape(id)+"/pull", nil, "", "")
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/x-ndjson")
		resp, err = c.httpClient().Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			return readAnswer(resp, nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	runID, digest := resp.Header.Get("X-Flperf-Run"), resp.Header.Get("X-Flperf-Digest")
	total, err := strconv.ParseInt(resp.Header.Get("X-Flperf-Records"), 10, 64)
	if err != nil || total < 0 || total > store.MaxPushRecords || !store.ValidID(runID) {
		return nil, fmt.Errorf("the server's answer lacks a valid X-Flperf-Run, X-Flperf-Records and X-Flperf-Digest: is it an flperf server of this version?")
	}
	br := bufio.NewReaderSize(resp.Body, 256<<10)
	header, err := readLine(br, maxHeaderLine)
	if err != nil {
		return nil, fmt.Errorf("run %s: reading its header: %w", runID, err)
	}
	st, err := db.BeginPush(ctx, store.PushBegin{Header: header, Total: total, Digest: digest,
		Origin: store.PushOrigin{Via: "pull", Remote: c.URL(), Tool: c.Tool}})
	if err != nil {
		return nil, err
	}
	if st.State == store.PushStored {
		return &PullResult{State: *st, Already: true}, nil
	}
	ok := false
	defer func() {
		if !ok { // nothing of a failed pull stays
			db.DropPush(context.WithoutCancel(ctx), runID)
		}
	}()
	if st.Received > 0 { // an earlier pull into this database stopped midway: start afresh
		if err := db.DropPush(ctx, runID); err != nil {
			return nil, err
		}
		if _, err := db.BeginPush(ctx, store.PushBegin{Header: header, Total: total, Digest: digest,
			Origin: store.PushOrigin{Via: "pull", Remote: c.URL(), Tool: c.Tool}}); err != nil {
			return nil, err
		}
	}
	var n int64
	batch := make([][]byte, 0, pullChunk)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := db.PushRecords(ctx, runID, n-int64(len(batch)), batch); err != nil {
			return err
		}
		batch = batch[:0]
		if c.Progress != nil {
			c.Progress(n, total)
		}
		return nil
	}
	for {
		line, err := readLine(br, maxRecordLine)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("run %s: after %d of %d records: %w; pull it again", runID, n, total, err)
		}
		if n >= total {
			return nil, fmt.Errorf("run %s: the server sent more than the %d records it announced", runID, total)
		}
		batch = append(batch, line)
		n++
		if len(batch) == pullChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if n != total {
		return nil, fmt.Errorf("run %s: the server's answer ended after %d of its %d records; pull it again", runID, n, total)
	}
	final, err := db.CommitPush(ctx, runID)
	if err != nil {
		return nil, err
	}
	ok = true
	return &PullResult{State: *final}, nil
}

// readLine reads one '\n'-terminated line of at most limit bytes, without
// its newline; io.EOF at the clean end of the input. A last line without
// its newline is a cut answer.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		if len(line)+len(part) > limit+1 {
			return nil, fmt.Errorf("a line longer than %d bytes", limit)
		}
		line = append(line, part...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
