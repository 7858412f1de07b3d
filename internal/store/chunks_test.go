package store

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"flperf/internal/record"
)

func TestChunkBlobRoundTrip(t *testing.T) {
	for name, cs := range map[string][]record.Chunk{
		"one":      {{At: 1, Est: 1}},
		"stream":   {{At: 120 * msec, Tokens: 1, Est: 1}, {At: 140 * msec, Tokens: 1, Est: 2}, {At: 141 * msec, Tokens: 3, Est: 3}},
		"extremes": {{At: math.MaxInt64, Tokens: math.MinInt64, Est: math.MaxInt64}, {At: math.MinInt64, Tokens: -1, Est: 0}, {At: 0}, {At: math.MaxInt64}},
		"backward": {{At: 50}, {At: 10}, {At: 30, Tokens: -2}},
	} {
		blob := appendChunkBlob(nil, cs)
		got, err := appendDecodeChunks(nil, blob)
		if err != nil || !reflect.DeepEqual(got, cs) {
			t.Errorf("%s: %v %v, want %v", name, got, err, cs)
		}
	}
	if b := appendChunkBlob(nil, nil); b != nil {
		t.Errorf("no chunks encode to %v, want nothing (NULL)", b)
	}
	if cs, err := appendDecodeChunks(nil, nil); cs != nil || err != nil {
		t.Errorf("empty blob: %v %v", cs, err)
	}
	// Compact: a typical streamed token (20 ms gap: a 4-byte varint of
	// nanoseconds; 1 token, estimate 1: a byte each) takes 6 bytes.
	var cs []record.Chunk
	for i := range 100 {
		cs = append(cs, record.Chunk{At: time.Duration(i) * 20 * msec, Tokens: 1, Est: 1})
	}
	if n := len(appendChunkBlob(nil, cs)); n > 2+6*100 {
		t.Errorf("100 chunks take %d bytes", n)
	}
	// Reuse: decoding appends to dst.
	got, err := appendDecodeChunks(make([]record.Chunk, 0, 200), appendChunkBlob(nil, cs))
	if err != nil || len(got) != 100 || cap(got) != 200 {
		t.Errorf("decode into a buffer: len %d cap %d %v", len(got), cap(got), err)
	}
}

func TestChunkBlobRejectsDamage(t *testing.T) {
	good := appendChunkBlob(nil, []record.Chunk{{At: 5, Tokens: 1, Est: 1}, {At: 9, Tokens: 1, Est: 1}})
	for name, b := range map[string][]byte{
		"version":       append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte{}, good...), 0),
		"huge count":    {chunkBlobV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1, 1},
		"count only":    {chunkBlobV1},
		"bad varint":    {chunkBlobV1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0},
		"count too big": {chunkBlobV1, 2, 1, 1, 1},
	} {
		if _, err := appendDecodeChunks(nil, b); !errors.Is(err, errChunkBlob) {
			t.Errorf("%s: %v, want errChunkBlob", name, err)
		}
	}
}

func FuzzChunkBlob(f *testing.F) {
	f.Add(appendChunkBlob(nil, []record.Chunk{{At: 120 * msec, Tokens: 1, Est: 1}, {At: 140 * msec, Est: 2}}))
	f.Add([]byte{chunkBlobV1, 3, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Decoding anything never panics, nor allocates beyond the input.
		cs, err := appendDecodeChunks(nil, b)
		if err == nil && len(cs) > len(b) {
			t.Fatalf("%d chunks from %d bytes", len(cs), len(b))
		}
		if err == nil { // what decodes re-encodes to chunks that decode the same
			again, err := appendDecodeChunks(nil, appendChunkBlob(nil, cs))
			if err != nil || !reflect.DeepEqual(again, cs) {
				t.Fatalf("re-encoding %v gave %v %v", cs, again, err)
			}
		}
		// Any chunks built from the bytes round-trip.
		var in []record.Chunk
		for i := 0; i+3 <= len(b); i += 3 {
			in = append(in, record.Chunk{At: time.Duration(int64(b[i])<<56 | int64(b[i+1])), Tokens: int(int8(b[i+1])), Est: int(b[i+2]) - 128})
		}
		out, err := appendDecodeChunks(nil, appendChunkBlob(nil, in))
		if err != nil || !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip of %v: %v %v", in, out, err)
		}
	})
}
