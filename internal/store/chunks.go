package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"flperf/internal/record"
)

// The chunk blob stores a record's stream events compactly:
//
//	version byte (chunkBlobV1)
//	uvarint  number of chunks
//	per chunk: varint ΔAt (ns since the previous chunk's At; the first since 0),
//	           varint Tokens, varint Est
//
// Varints are zig-zag signed (encoding/binary), so hostile negative or
// non-monotonic values survive exactly; ΔAt wraps like int64 arithmetic, so
// even extreme offsets round-trip. A typical streamed token costs about 6 bytes
// (a 20 ms gap is a 4-byte varint of nanoseconds).
// A record without chunks stores NULL, not a blob.
const chunkBlobV1 = 1

// minChunkBytes is the fewest bytes one encoded chunk takes.
const minChunkBytes = 3

// appendChunkBlob appends the encoding of cs to dst; no chunks append nothing.
func appendChunkBlob(dst []byte, cs []record.Chunk) []byte {
	if len(cs) == 0 {
		return dst
	}
	dst = append(dst, chunkBlobV1)
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	var prev int64
	for _, c := range cs {
		at := int64(c.At)
		dst = binary.AppendVarint(dst, at-prev)
		dst = binary.AppendVarint(dst, int64(c.Tokens))
		dst = binary.AppendVarint(dst, int64(c.Est))
		prev = at
	}
	return dst
}

// errChunkBlob is wrapped by every decoding error.
var errChunkBlob = errors.New("bad chunk blob")

// appendDecodeChunks decodes blob and appends its chunks to dst. An empty
// blob decodes to no chunks. It never panics and never allocates more than
// the blob's size justifies.
func appendDecodeChunks(dst []record.Chunk, blob []byte) ([]record.Chunk, error) {
	if len(blob) == 0 {
		return dst, nil
	}
	if blob[0] != chunkBlobV1 {
		return dst, fmt.Errorf("%w: unknown version %d", errChunkBlob, blob[0])
	}
	n, k := binary.Uvarint(blob[1:])
	if k <= 0 {
		return dst, fmt.Errorf("%w: bad count", errChunkBlob)
	}
	b := blob[1+k:]
	if n > uint64(len(b)/minChunkBytes) {
		return dst, fmt.Errorf("%w: %d chunks cannot fit in %d bytes", errChunkBlob, n, len(b))
	}
	dst = slices.Grow(dst, int(n))
	base := len(dst)
	out := dst[base : base+int(n)]
	var prev int64
	pos := 0
	for i := range out {
		var v [3]int64
		for j := range v {
			// Fast path: a one-byte varint (tokens, estimates).
			if pos < len(b) && b[pos] < 0x80 {
				u := uint64(b[pos])
				v[j] = int64(u>>1) ^ -int64(u&1)
				pos++
				continue
			}
			x, k := binary.Varint(b[pos:])
			if k <= 0 {
				return dst, fmt.Errorf("%w: chunk %d is truncated", errChunkBlob, i)
			}
			v[j] = x
			pos += k
		}
		prev += v[0]
		out[i] = record.Chunk{At: time.Duration(prev), Tokens: int(v[1]), Est: int(v[2])}
	}
	if pos != len(b) {
		return dst, fmt.Errorf("%w: %d trailing bytes", errChunkBlob, len(b)-pos)
	}
	return dst[:base+int(n)], nil
}
