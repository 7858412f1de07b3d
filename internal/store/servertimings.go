package store

import (
	"encoding/binary"
	"fmt"
	"math"

	"flperf/internal/record"
)

// serverSchema is the schema version that added records.server.
const serverSchema = 6

// The server column's codec: one byte with a bit per field of
// record.ServerTimings present, in serverFields order, then each present
// field as a little-endian float64 (the token counts too: exact below
// 2^53). A record without server timings stores NULL.
const serverCodecFields = 8

// serverFields lists the fields of t in codec order: float fields, then the
// two counts, which encodeServer and decodeServer convert.
func serverFloats(t *record.ServerTimings) [6]**float64 {
	return [6]**float64{&t.PromptMS, &t.DecodeMS, &t.LoadMS, &t.TotalMS, &t.TTFTMS, &t.DecodeTPS}
}

// encodeServer returns t's column value: nil (NULL) for nil.
func encodeServer(t *record.ServerTimings) []byte {
	if t == nil {
		return nil
	}
	b := make([]byte, 1, 1+8*serverCodecFields)
	put := func(bit int, v float64) {
		b[0] |= 1 << bit
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	for i, p := range serverFloats(t) {
		if *p != nil {
			put(i, **p)
		}
	}
	if t.PromptTokens != nil {
		put(6, float64(*t.PromptTokens))
	}
	if t.DecodeTokens != nil {
		put(7, float64(*t.DecodeTokens))
	}
	return b
}

// decodeServer reads a column value written by encodeServer; empty or NULL
// is nil.
func decodeServer(b []byte) (*record.ServerTimings, error) {
	if len(b) == 0 {
		return nil, nil
	}
	mask := b[0]
	b = b[1:]
	var t record.ServerTimings
	next := func() (float64, error) {
		if len(b) < 8 {
			return 0, fmt.Errorf("server timings: truncated value")
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		return v, nil
	}
	for i, p := range serverFloats(&t) {
		if mask&(1<<i) == 0 {
			continue
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		*p = &v
	}
	for i, p := range []**int{&t.PromptTokens, &t.DecodeTokens} {
		if mask&(1<<(6+i)) == 0 {
			continue
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		if v < 0 || v > 1<<53 || v != math.Trunc(v) {
			return nil, fmt.Errorf("server timings: token count %v", v)
		}
		n := int(v)
		*p = &n
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("server timings: %d trailing bytes", len(b))
	}
	return &t, nil
}
