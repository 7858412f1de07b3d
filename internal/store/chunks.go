package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"flperf/internal/record"
)

// A chunk blob stores a record's stream events compactly, in one of two
// layouts, told apart by the first byte. appendChunkBlob writes the second;
// the first is read from databases written before it.
//
// chunkBlobV1 (1), varints throughout:
//
//	uvarint  number of chunks
//	per chunk: varint ΔAt (ns since the previous chunk's At; the first since 0),
//	           varint Tokens, varint Est
//
// chunkBlobFixed (3), fixed-width columns, which decode without a
// dependency from one value to the next (byte 2 was never written):
//
//	uvarint  number of chunks n (≥ 1)
//	varint   the first chunk's At
//	3 bytes  the widths wΔ, wT, wE (each 1…8) of the columns below
//	n−1 × wΔ bytes: ΔAt of chunks 1… (ns since the previous chunk's At)
//	n × wT bytes:   Tokens
//	n × wE bytes:   Est
//
// Column values are zig-zag signed (as varints are) and little endian, each
// column as wide as its widest value needs. Every value survives exactly:
// hostile negative or non-monotonic values too, and ΔAt wraps like int64
// arithmetic, so even extreme offsets round-trip. A typical streamed token
// costs 6 bytes either way (a 20 ms gap takes 4, a token count and an
// estimate 1 each). A record without chunks stores NULL, not a blob.
const (
	chunkBlobV1    = 1
	chunkBlobFixed = 3
)

// minChunkBytes is the fewest bytes one encoded chunk takes, in either
// layout (so a blob's length bounds what decoding it allocates).
const minChunkBytes = 3

// zigzag maps a signed value to an unsigned one that is small when the
// value is near 0 (binary.AppendVarint's encoding); unzigzag inverts it.
func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// width returns the bytes needed for u, at least 1.
func width(u uint64) int { return max(1, (bits.Len64(u)+7)/8) }

// appendChunkBlob appends the encoding of cs (chunkBlobFixed) to dst; no
// chunks append nothing.
func appendChunkBlob(dst []byte, cs []record.Chunk) []byte {
	if len(cs) == 0 {
		return dst
	}
	var dMax, tMax, eMax uint64
	for i, c := range cs {
		if i > 0 {
			dMax |= zigzag(int64(c.At - cs[i-1].At))
		}
		tMax |= zigzag(int64(c.Tokens))
		eMax |= zigzag(int64(c.Est))
	}
	wd, wt, we := width(dMax), width(tMax), width(eMax)
	dst = append(dst, chunkBlobFixed)
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	dst = binary.AppendVarint(dst, int64(cs[0].At))
	dst = append(dst, byte(wd), byte(wt), byte(we))
	dst = slices.Grow(dst, (len(cs)-1)*wd+len(cs)*(wt+we))
	for i := 1; i < len(cs); i++ {
		dst = appendFixed(dst, zigzag(int64(cs[i].At-cs[i-1].At)), wd)
	}
	for _, c := range cs {
		dst = appendFixed(dst, zigzag(int64(c.Tokens)), wt)
	}
	for _, c := range cs {
		dst = appendFixed(dst, zigzag(int64(c.Est)), we)
	}
	return dst
}

// appendFixed appends the w low bytes of u, little endian.
func appendFixed(dst []byte, u uint64, w int) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u)
	return append(dst, b[:w]...)
}

// chunkCount returns how many chunks blob says it holds (0 when it says
// nothing sensible; decoding checks it).
func chunkCount(blob []byte) int {
	if len(blob) < 2 {
		return 0
	}
	n, k := binary.Uvarint(blob[1:])
	if k <= 0 || n > uint64(len(blob)) {
		return 0
	}
	return int(n)
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
	switch blob[0] {
	case chunkBlobV1:
		return appendDecodeVarint(dst, blob[1:])
	case chunkBlobFixed:
		return appendDecodeFixed(dst, blob[1:])
	}
	return dst, fmt.Errorf("%w: unknown version %d", errChunkBlob, blob[0])
}

// appendDecodeFixed decodes the body of a chunkBlobFixed blob.
func appendDecodeFixed(dst []record.Chunk, b []byte) ([]record.Chunk, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 {
		return dst, fmt.Errorf("%w: bad count", errChunkBlob)
	}
	b = b[k:]
	if n > uint64(len(b)/minChunkBytes) {
		return dst, fmt.Errorf("%w: %d chunks cannot fit in %d bytes", errChunkBlob, n, len(b))
	}
	at, k := binary.Varint(b)
	if k <= 0 || len(b) < k+3 {
		return dst, fmt.Errorf("%w: bad header", errChunkBlob)
	}
	wd, wt, we := int(b[k]), int(b[k+1]), int(b[k+2])
	b = b[k+3:]
	if wd < 1 || wd > 8 || wt < 1 || wt > 8 || we < 1 || we > 8 {
		return dst, fmt.Errorf("%w: bad widths %d, %d, %d", errChunkBlob, wd, wt, we)
	}
	c := int(n) // n ≤ len(b)/3: no overflow below
	if want := (c-1)*wd + c*(wt+we); len(b) != want {
		return dst, fmt.Errorf("%w: %d bytes of columns, want %d", errChunkBlob, len(b), want)
	}
	dst = slices.Grow(dst, c)
	base := len(dst)
	out := dst[base : base+c]
	deltas, tokens, ests := b[:(c-1)*wd], b[(c-1)*wd:(c-1)*wd+c*wt], b[(c-1)*wd+c*wt:]
	out[0].At = time.Duration(at)
	col := fixedCol{deltas, wd}
	for i := 1; i < c; i++ {
		at += unzigzag(col.at(i - 1))
		out[i].At = time.Duration(at)
	}
	// Token counts and estimates: usually a byte each.
	if wt == 1 {
		for i, x := range tokens[:len(out)] {
			out[i].Tokens = int(unzigzag(uint64(x)))
		}
	} else {
		col = fixedCol{tokens, wt}
		for i := range out {
			out[i].Tokens = int(unzigzag(col.at(i)))
		}
	}
	if we == 1 {
		for i, x := range ests[:len(out)] {
			out[i].Est = int(unzigzag(uint64(x)))
		}
	} else {
		col = fixedCol{ests, we}
		for i := range out {
			out[i].Est = int(unzigzag(col.at(i)))
		}
	}
	return dst[:base+c], nil
}

// fixedCol is a column of w-byte little endian values.
type fixedCol struct {
	b []byte
	w int
}

// at returns value i: one masked 8-byte load where 8 bytes remain.
func (c fixedCol) at(i int) uint64 {
	off := i * c.w
	if off+8 <= len(c.b) {
		return binary.LittleEndian.Uint64(c.b[off:]) & (1<<(uint(8*c.w)&63) - 1 | -(uint64(c.w) >> 3))
	}
	return c.tail(off)
}

// tail reads the value at off byte by byte.
func (c fixedCol) tail(off int) uint64 {
	var u uint64
	for j := c.w - 1; j >= 0; j-- {
		u = u<<8 | uint64(c.b[off+j])
	}
	return u
}

// appendDecodeVarint decodes the body of a chunkBlobV1 blob.
func appendDecodeVarint(dst []record.Chunk, blob []byte) ([]record.Chunk, error) {
	n, k := binary.Uvarint(blob)
	if k <= 0 {
		return dst, fmt.Errorf("%w: bad count", errChunkBlob)
	}
	b := blob[k:]
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
