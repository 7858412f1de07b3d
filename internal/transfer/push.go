package transfer

import (
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
// run as it was; pushing again resumes where the server stopped.
func (c *Client) Push(ctx context.Context, db *store.DB, id string) (*PushResult, error) {
	a, err := db.Export(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == store.Running {
		return nil, fmt.Errorf("run %s is still running: push it once it has ended", id)
	}
	header, err := store.PushHeader(a)
	if err != nil {
		return nil, err
	}
	d := store.NewDigest(header)
	lines := make([][]byte, len(a.Records))
	for i := range a.Records {
		if lines[i], err = store.EncodeJSON(&a.Records[i]); err != nil {
			return nil, fmt.Errorf("run %s: record %d: %v", id, i, err)
		}
		d.Add(lines[i])
	}
	begin, err := store.EncodeJSON(map[string]any{ // the header's bytes as they are: no HTML escaping
		"header": json.RawMessage(header), "records": len(lines), "digest": d.Sum(), "host": c.Host, "tool": c.Tool,
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
	total := int64(len(lines))
	if st.State == store.PushStored {
		res.State, res.Already = st, true
		return res, nil
	}
	if st.Total != total || st.Digest != d.Sum() {
		return nil, fmt.Errorf("the server opened a push of %d records (digest %s), not the %d sent (digest %s)", st.Total, st.Digest, total, d.Sum())
	}
	res.Resumed = st.Received
	if st.Received > 0 {
		c.log("run %s: the server already holds %d of its %d records: resuming from record %d", id, st.Received, total, st.Received)
	}
	path := "/pushes/" + url.PathEscape(id)
	for {
		if err := c.sendFrom(ctx, path, id, lines, &st, res); err != nil {
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

// sendFrom sends lines from the server's count st.Received to the end,
// a chunk at a time, updating st from each answer.
func (c *Client) sendFrom(ctx context.Context, path, id string, lines [][]byte, st *store.PushState, res *PushResult) error {
	maxRecs, maxBytes := c.ChunkRecords, c.ChunkBytes
	if maxRecs <= 0 {
		maxRecs = DefaultChunkRecords
	}
	if maxBytes <= 0 {
		maxBytes = DefaultChunkBytes
	}
	total := int64(len(lines))
	var body []byte
	conflicts := 0
	for st.Received < total {
		off := st.Received
		end, size := off, 0
		for end < total && end-off < int64(maxRecs) && (end == off || size+len(lines[end])+1 <= maxBytes) {
			size += len(lines[end]) + 1
			end++
		}
		body = body[:0]
		for _, l := range lines[off:end] {
			body = append(body, l...)
			body = append(body, '\n')
		}
		q := fmt.Sprintf("%s/records?offset=%d", path, off)
		err := c.retry(ctx, fmt.Sprintf("sending records %d–%d of run %s", off, end-1, id), func() error {
			return c.call(ctx, http.MethodPut, q, body, "application/x-ndjson", st)
		})
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusConflict && conflicts < 3 { // the server holds fewer: ask it
			conflicts++
			if err := c.status(ctx, path, id, st); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if st.State == store.PushStored { // committed by a concurrent push of the same run
			return nil
		}
		if st.Received <= off {
			return fmt.Errorf("run %s: the server took none of records %d–%d", id, off, end-1)
		}
		conflicts = 0
		res.Sent += st.Received - off
		if c.Progress != nil {
			c.Progress(st.Received, total)
		}
	}
	return nil
}

// status asks the server where the push stands.
func (c *Client) status(ctx context.Context, path, id string, st *store.PushState) error {
	return c.retry(ctx, "asking the server about run "+id, func() error {
		return c.call(ctx, http.MethodGet, path, nil, "", st)
	})
}
