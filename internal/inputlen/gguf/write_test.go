package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A GGUF v3 writer of metadata only (no tensors), for tokenizer tests:
// the header, then each key with its typed value, little-endian, as the
// GGUF specification of the ggml project lays them out.

type kv struct {
	key string
	val any // string, bool, uint32, []string, []float32, []int32
}

func ggufBytes(kvs []kv) []byte {
	var b bytes.Buffer
	u32 := func(v uint32) { binary.Write(&b, binary.LittleEndian, v) }
	u64 := func(v uint64) { binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { u64(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	u32(3)
	u64(0) // tensors
	u64(uint64(len(kvs)))
	for _, e := range kvs {
		str(e.key)
		switch v := e.val.(type) {
		case string:
			u32(8)
			str(v)
		case bool:
			u32(7)
			if v {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		case uint32:
			u32(4)
			u32(v)
		case []string:
			u32(9)
			u32(8)
			u64(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []float32:
			u32(9)
			u32(6)
			u64(uint64(len(v)))
			for _, f := range v {
				u32(math.Float32bits(f))
			}
		case []int32:
			u32(9)
			u32(5)
			u64(uint64(len(v)))
			for _, x := range v {
				u32(uint32(x))
			}
		}
	}
	return b.Bytes()
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tok.gguf")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
