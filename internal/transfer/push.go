package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"flperf/internal/store"
)

// PushResult is how a push ended.
type PushResult struct {
	State   store.PushState // the server's final state: stored
	Already bool            // the server already held the run: nothing was sent
	Resumed int64           // records the server held from an earlier attempt
	Sent    int64           // records sent by this push
}

// Push sends stored run id of db to the server, records, resources and
// machine fingerprint included, and returns once the server has stored
// it whole. A run still running is refused. A failure leaves the local
// run as it was; pushing again resumes where the server stopped. The run
// is read from the database as it is sent, a chunk in memory at a time.
func (c *Client) Push(ctx context.Context, db *store.DB, id string) (*PushResult, error) {
	src, err := db.ReadPushSource(ctx, id)
	if err != nil {
		return nil, err
	}
	if src.Status == string(store.Running) {
		return nil, fmt.Errorf("run %s is still running: push it once it has ended", id)
	}
	begin, err := store.EncodeJSON(map[string]any{ // the header's bytes as they are: no HTML escaping
		"header": json.RawMessage(src.Header), "records": src.Records, "digest": src.Digest, "host": c.Host, "tool": c.Tool,
	})
	if err != nil {
		return nil, err
	}
	res := &PushResult{}
	var st store.PushState
	err = c.retry(ctx, "opening the push of run "+id, func() error {
		return c.call(ctx, http.MethodPost, "/pushes", begin, "application/json", &st)
	})
	if err != nil {
		return nil, err
	}
	total := src.Records
	if st.State == store.PushStored {
		res.State, res.Already = st, true
		return res, nil
	}
	if st.Total != total || st.Digest != src.Digest {
		return nil, fmt.Errorf("the server opened a push of %d records (digest %s), not the %d sent (digest %s)", st.Total, st.Digest, total, src.Digest)
	}
	res.Resumed = st.Received
	if st.Received > 0 {
		c.log("run %s: the server already holds %d of its %d records: resuming from record %d", id, st.Received, total, st.Received)
	}
	path := "/pushes/" + url.PathEscape(id)
	for {
		if err := c.sendFrom(ctx, db, path, id, total, &st, res); err != nil {
			return nil, err
		}
		err = c.retry(ctx, "storing run "+id, func() error {
			return c.call(ctx, http.MethodPost, path+"/commit", nil, "", &st)
		})
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusConflict { // not every record arrived: ask and send the rest
			if err := c.status(ctx, path, id, &st); err != nil {
				return nil, err
			}
			if st.State == store.PushReceiving && st.Received < total {
				continue
			}
			if st.State != store.PushStored {
				return nil, err
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
		res.State = st
		return res, nil
	}
}

// errRestart stops reading the run's lines: the server holds another
// count than the lines sent, and sending goes on from its count.
var errRestart = errors.New("restart from the server's count")

// sendFrom sends run id's record lines from the server's count
// st.Received to the end, a chunk at a time, updating st from each
// answer. The chunks are read and compressed by chunksFrom one ahead of
// the sending: the next chunk is ready while the server stores the
// previous one.
func (c *Client) sendFrom(ctx context.Context, db *store.DB, path, id string, total int64, st *store.PushState, res *PushResult) error {
	maxRecs, maxBytes := c.ChunkRecords, c.ChunkBytes
	if maxRecs <= 0 {
		maxRecs = DefaultChunkRecords
	}
	if maxBytes <= 0 {
		maxBytes = DefaultChunkBytes
	}
	conflicts := 0
	send := func(ch pushChunk) error {
		q := fmt.Sprintf("%s/records?offset=%d", path, ch.off)
		err := c.retry(ctx, fmt.Sprintf("sending records %d–%d of run %s", ch.off, ch.off+ch.n-1, id), func() error {
			return c.callEncoded(ctx, http.MethodPut, q, ch.body, "application/x-ndjson", ch.encoding, st)
		})
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusConflict && conflicts < 3 { // the server holds fewer: ask it
			conflicts++
			if err := c.status(ctx, path, id, st); err != nil {
				return err
			}
			return errRestart
		}
		if err != nil {
			return err
		}
		conflicts = 0
		if st.State == store.PushStored { // committed by a concurrent push of the same run
			return errRestart
		}
		if st.Received <= ch.off {
			return fmt.Errorf("run %s: the server took none of records from %d", id, ch.off)
		}
		res.Sent += st.Received - ch.off
		if c.Progress != nil {
			c.Progress(st.Received, total)
		}
		if st.Received != ch.off+ch.n {
			return errRestart
		}
		return nil
	}
	for st.State != store.PushStored && st.Received < total {
		rctx, stop := context.WithCancel(ctx)
		chunks := make(chan pushChunk, 1)
		readErr := make(chan error, 1)
		go func(from int64) {
			readErr <- chunksFrom(rctx, db, id, from, int64(maxRecs), maxBytes, chunks)
		}(st.Received)
		var err error
		for ch := range chunks {
			if err = send(ch); err != nil {
				break
			}
		}
		stop()
		for range chunks { // let the reader see its context canceled and end
		}
		if rerr := <-readErr; err == nil {
			err = rerr
		}
		switch {
		case errors.Is(err, errRestart):
			continue
		case err != nil:
			return err
		case st.State != store.PushStored && st.Received < total:
			return fmt.Errorf("run %s has %d records here, not the %d announced: did it change while being pushed?", id, st.Received, total)
		}
	}
	return nil
}

// pushChunk is one chunk of a run's record lines as sent: records off to
// off+n-1, body in Content-Encoding encoding (encodeBody's).
type pushChunk struct {
	off, n   int64
	body     []byte
	encoding string
}

// chunksFrom reads run id's record lines from record from on and sends
// them to out in chunks of at most maxRecs records and maxBytes bytes,
// each compressed as it goes on the wire, then closes out. out holds one
// chunk: the reader runs one chunk ahead of the sending and no further,
// so at most three chunks are in memory (one being read, one waiting,
// one in flight). It stops with ctx's error once ctx is done.
func chunksFrom(ctx context.Context, db *store.DB, id string, from, maxRecs int64, maxBytes int, out chan<- pushChunk) error {
	defer close(out)
	var body []byte
	var off, n int64 // the chunk's first record; its records
	emit := func() error {
		enc, encoding := encodeBody(body)
		if encoding == "" {
			enc = bytes.Clone(body) // body's buffer is reused for the next chunk
		}
		select {
		case out <- pushChunk{off: off, n: n, body: enc, encoding: encoding}:
		case <-ctx.Done():
			return ctx.Err()
		}
		body, n = body[:0], 0
		return nil
	}
	err := db.PushLines(ctx, id, from, func(i int64, line []byte) error {
		if n > 0 && (n >= maxRecs || len(body)+len(line)+1 > maxBytes) {
			if err := emit(); err != nil {
				return err
			}
		}
		if n == 0 {
			off = i
		}
		body = append(append(body, line...), '\n')
		n++
		return nil
	})
	if err == nil && n > 0 {
		err = emit()
	}
	return err
}

// status asks the server where the push stands.
func (c *Client) status(ctx context.Context, path, id string, st *store.PushState) error {
	return c.retry(ctx, "asking the server about run "+id, func() error {
		return c.call(ctx, http.MethodGet, path, nil, "", st)
	})
}
