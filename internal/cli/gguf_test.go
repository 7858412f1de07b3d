package cli

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A GGUF v3 writer for the real-engine tests: it makes a tiny llama model
// with seeded random weights that a real engine (Ollama, llama.cpp) loads
// and runs, so that no test downloads a model. The layout follows the GGUF
// specification of the ggml project: a header, key/value metadata, tensor
// descriptors, then the tensor data, each tensor aligned to 32 bytes.

// GGUF value types.
const (
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
)

// GGUF tensor types.
const (
	ggmlF32 = 0
	ggmlF16 = 1
)

// ggufAlignment is the default (general.alignment) data alignment.
const ggufAlignment = 32

// Token types of tokenizer.ggml.token_type.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokByte    = 6
)

// tinyLlama describes the model writeTinyLlama makes.
type tinyLlama struct {
	Embd, FF, Layers, Heads, KVHeads, Context int
	Seed                                      uint64
}

// defaultTinyLlama is small enough to write in a fraction of a second
// (about 7 MB in F16) and big enough that each generated token costs the
// engine measurable work.
var defaultTinyLlama = tinyLlama{Embd: 256, FF: 512, Layers: 4, Heads: 4, KVHeads: 4, Context: 8192, Seed: 1}

// tinyVocab is a SentencePiece ("llama") vocabulary: <unk>, <s>, </s>, the
// 256 byte-fallback tokens <0x00>…<0xFF>, every printable ASCII character
// and "▁" (the SentencePiece space), "▁" + each lowercase letter and every
// lowercase letter pair, so that English prompts tokenize into real pieces.
// It returns the tokens, their scores and their types.
func tinyVocab() (tokens []string, scores []float32, types []int32) {
	add := func(s string, score float32, typ int32) {
		tokens, scores, types = append(tokens, s), append(scores, score), append(types, typ)
	}
	add("<unk>", 0, tokUnknown)
	add("<s>", 0, tokControl)
	add("</s>", 0, tokControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokByte)
	}
	add("▁", -1, tokNormal)
	for c := byte('!'); c <= '~'; c++ {
		add(string(c), -1, tokNormal)
	}
	for c := byte('a'); c <= 'z'; c++ {
		add("▁"+string(c), -2, tokNormal)
	}
	for a := byte('a'); a <= 'z'; a++ {
		for b := byte('a'); b <= 'z'; b++ {
			add(string([]byte{a, b}), -3, tokNormal)
		}
	}
	return tokens, scores, types
}

// Special token ids of tinyVocab.
const (
	tinyUnk = 0
	tinyBOS = 1
	tinyEOS = 2
	// tinyFirstText is the first token that is neither special nor a byte:
	// the only ones the model ever generates (see writeTinyLlama).
	tinyFirstText = 3 + 256
)

// ggufKV is one metadata entry.
type ggufKV struct {
	key string
	val any // uint32, int32, float32, bool, string, []string, []float32, []int32
}

// ggufTensor is one tensor: its dimensions innermost first (GGUF order),
// its type, and its values.
type ggufTensor struct {
	name string
	dims []uint64
	typ  uint32
	data []float32
}

// size is the tensor's data size in bytes.
func (t *ggufTensor) size() uint64 {
	if t.typ == ggmlF16 {
		return uint64(len(t.data)) * 2
	}
	return uint64(len(t.data)) * 4
}

// writeTinyLlama writes a llama-architecture GGUF model with m's
// dimensions and seeded random weights (F16 matrices, F32 norms) to path.
// The output matrix's rows of the special and byte tokens are zero and the
// others large, so the model never generates end-of-sequence or a lone
// byte: every answer runs to its token limit, one whole piece per token.
func writeTinyLlama(path string, m tinyLlama) error {
	tokens, scores, types := tinyVocab()
	vocab := len(tokens)
	kvDim := m.Embd / m.Heads * m.KVHeads
	rng := rand.New(rand.NewPCG(m.Seed, m.Seed^0x9e3779b97f4a7c15))
	random := func(n int, std float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(rng.NormFloat64() * std)
		}
		return out
	}
	ones := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1
		}
		return out
	}
	mat := func(name string, in, out int, std float64) ggufTensor {
		return ggufTensor{name: name, dims: []uint64{uint64(in), uint64(out)}, typ: ggmlF16, data: random(in*out, std)}
	}
	norm := func(name string) ggufTensor {
		return ggufTensor{name: name, dims: []uint64{uint64(m.Embd)}, typ: ggmlF32, data: ones(m.Embd)}
	}
	tensors := []ggufTensor{mat("token_embd.weight", m.Embd, vocab, 1)}
	for i := range m.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		std := 1 / math.Sqrt(float64(m.Embd))
		tensors = append(tensors,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", m.Embd, m.Embd, std),
			mat(p+"attn_k.weight", m.Embd, kvDim, std),
			mat(p+"attn_v.weight", m.Embd, kvDim, std),
			mat(p+"attn_output.weight", m.Embd, m.Embd, std),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", m.Embd, m.FF, std),
			mat(p+"ffn_up.weight", m.Embd, m.FF, std),
			mat(p+"ffn_down.weight", m.FF, m.Embd, 1/math.Sqrt(float64(m.FF))),
		)
	}
	out := mat("output.weight", m.Embd, vocab, 0.5)
	clear(out.data[:tinyFirstText*m.Embd]) // logit 0 for special and byte tokens, far below the best text token's
	tensors = append(tensors, norm("output_norm.weight"), out)

	kvs := []ggufKV{
		{"general.architecture", "llama"},
		{"general.type", "model"},
		{"general.name", "flperf tiny random llama"},
		{"general.file_type", uint32(1)}, // mostly F16
		{"llama.context_length", uint32(m.Context)},
		{"llama.embedding_length", uint32(m.Embd)},
		{"llama.block_count", uint32(m.Layers)},
		{"llama.feed_forward_length", uint32(m.FF)},
		{"llama.attention.head_count", uint32(m.Heads)},
		{"llama.attention.head_count_kv", uint32(m.KVHeads)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.attention.key_length", uint32(m.Embd / m.Heads)},
		{"llama.attention.value_length", uint32(m.Embd / m.Heads)},
		{"llama.rope.dimension_count", uint32(m.Embd / m.Heads)},
		{"llama.rope.freq_base", float32(10000)},
		{"llama.vocab_size", uint32(vocab)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(tinyBOS)},
		{"tokenizer.ggml.eos_token_id", uint32(tinyEOS)},
		{"tokenizer.ggml.unknown_token_id", uint32(tinyUnk)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeGGUF(w, kvs, tensors); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeGGUF writes a GGUF v3 file: header, metadata, tensor descriptors,
// padding to the alignment, then each tensor's data padded likewise.
func writeGGUF(w io.Writer, kvs []ggufKV, tensors []ggufTensor) error {
	e := &ggufEncoder{w: w}
	e.raw([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.key)
		e.value(kv.val)
	}
	var offset uint64
	for _, t := range tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(t.typ)
		e.u64(offset)
		offset += ggufPad(t.size())
	}
	e.pad()
	for _, t := range tensors {
		for _, v := range t.data {
			if t.typ == ggmlF16 {
				e.u16(float16(v))
			} else {
				e.u32(math.Float32bits(v))
			}
		}
		e.pad()
	}
	return e.err
}

func ggufPad(n uint64) uint64 { return (n + ggufAlignment - 1) / ggufAlignment * ggufAlignment }

// ggufEncoder writes little-endian GGUF values, remembering the first
// error and the number of bytes written (for padding).
type ggufEncoder struct {
	w   io.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *ggufEncoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *ggufEncoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.raw(e.buf[:2]) }
func (e *ggufEncoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.raw(e.buf[:4]) }
func (e *ggufEncoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }

func (e *ggufEncoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *ggufEncoder) pad() {
	if n := ggufPad(e.n) - e.n; n > 0 {
		e.raw(make([]byte, n))
	}
}

// value writes a typed value: its type, then its encoding.
func (e *ggufEncoder) value(v any) {
	switch v := v.(type) {
	case uint32:
		e.u32(ggufUint32)
		e.u32(v)
	case int32:
		e.u32(ggufInt32)
		e.u32(uint32(v))
	case float32:
		e.u32(ggufFloat32)
		e.u32(math.Float32bits(v))
	case bool:
		e.u32(ggufBool)
		b := byte(0)
		if v {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.u32(ggufString)
		e.str(v)
	case []string:
		e.u32(ggufArray)
		e.u32(ggufString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(ggufArray)
		e.u32(ggufFloat32)
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.u32(math.Float32bits(f))
		}
	case []int32:
		e.u32(ggufArray)
		e.u32(ggufInt32)
		e.u64(uint64(len(v)))
		for _, x := range v {
			e.u32(uint32(x))
		}
	default:
		if e.err == nil {
			e.err = fmt.Errorf("gguf: unsupported value type %T", v)
		}
	}
}

// float16 rounds f to the nearest IEEE 754 half-precision value (ties to
// even), with subnormals, infinities and NaN.
func float16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff == 0:
		return sign
	case b>>23&0xff == 0xff: // Inf, NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0: // subnormal half (or zero)
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf: still correct
	}
	return sign | uint16(h)
}

// ggufSummary reads back what a test needs to check a written file: the
// version, the metadata keys with their string values, and each tensor's
// name, dimensions, type and offset, with the data section's start.
type ggufSummary struct {
	version    uint32
	strings    map[string]string
	keys       []string
	tensors    []ggufTensor
	offsets    []uint64
	dataOffset uint64
}

// readGGUF parses a GGUF header (metadata and tensor descriptors, not the
// data) written by writeGGUF: the value types writeGGUF uses only.
func readGGUF(r io.Reader) (*ggufSummary, error) {
	d := &ggufDecoder{r: bufio.NewReader(r)}
	if string(d.raw(4)) != "GGUF" {
		return nil, fmt.Errorf("gguf: bad magic")
	}
	s := &ggufSummary{version: d.u32(), strings: map[string]string{}}
	nt, nkv := d.u64(), d.u64()
	if d.err == nil && (nt > 1<<16 || nkv > 1<<16) {
		return nil, fmt.Errorf("gguf: %d tensors, %d keys: implausible", nt, nkv)
	}
	for range nkv {
		k := d.str()
		s.keys = append(s.keys, k)
		if v := d.skipValue(d.u32()); v != "" {
			s.strings[k] = v
		}
	}
	for range nt {
		t := ggufTensor{name: d.str()}
		nd := d.u32()
		if nd > 4 {
			return nil, fmt.Errorf("gguf: tensor %q has %d dimensions", t.name, nd)
		}
		for range nd {
			t.dims = append(t.dims, d.u64())
		}
		t.typ = d.u32()
		s.tensors = append(s.tensors, t)
		s.offsets = append(s.offsets, d.u64())
	}
	s.dataOffset = ggufPad(d.n)
	return s, d.err
}

type ggufDecoder struct {
	r   *bufio.Reader
	n   uint64
	err error
}

func (d *ggufDecoder) raw(n uint64) []byte {
	if d.err != nil || n > 1<<20 {
		if d.err == nil {
			d.err = fmt.Errorf("gguf: %d-byte item: implausible", n)
		}
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
	d.n += n
	return b
}

func (d *ggufDecoder) u32() uint32 {
	if b := d.raw(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *ggufDecoder) u64() uint64 {
	if b := d.raw(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *ggufDecoder) str() string { return string(d.raw(d.u64())) }

// skipValue reads a value of type typ, returning it when it is a string
// (arrays are read as "[N]" with N their length).
func (d *ggufDecoder) skipValue(typ uint32) string {
	switch typ {
	case ggufUint32, ggufInt32, ggufFloat32:
		d.raw(4)
	case ggufBool:
		d.raw(1)
	case ggufString:
		return d.str()
	case ggufArray:
		et, n := d.u32(), d.u64()
		if n > 1<<20 {
			d.err = fmt.Errorf("gguf: array of %d: implausible", n)
			return ""
		}
		var b strings.Builder
		for range n {
			d.skipValue(et)
		}
		fmt.Fprintf(&b, "[%d]", n)
		return b.String()
	default:
		if d.err == nil {
			d.err = fmt.Errorf("gguf: value type %d not used by writeGGUF", typ)
		}
	}
	return ""
}

func TestFloat16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {0.1, 0x2e66}, {65504, 0x7bff}, {65520, 0x7c00},
		{1e-7, 0x0002}, {5.9604645e-08, 0x0001}, {1e-9, 0}, {float32(math.Inf(-1)), 0xfc00},
		{1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, // ties to even
	} {
		if got := float16(c.in); got != c.want {
			t.Errorf("float16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// TestTinyLlamaGGUF reads back what writeTinyLlama wrote: a GGUF v3 file
// whose metadata, tensor shapes and aligned offsets are those a llama
// loader needs, ending exactly after the last tensor, with the output rows
// of special and byte tokens zero.
func TestTinyLlamaGGUF(t *testing.T) {
	m := tinyLlama{Embd: 32, FF: 64, Layers: 2, Heads: 4, KVHeads: 2, Context: 256, Seed: 7}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := writeTinyLlama(path, m); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := readGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	tokens, _, _ := tinyVocab()
	if s.version != 3 || s.strings["general.architecture"] != "llama" || s.strings["tokenizer.ggml.model"] != "llama" ||
		s.strings["tokenizer.ggml.tokens"] != fmt.Sprintf("[%d]", len(tokens)) || s.strings["tokenizer.ggml.token_type"] != fmt.Sprintf("[%d]", len(tokens)) {
		t.Fatalf("header: version %d, %v", s.version, s.strings)
	}
	if len(s.tensors) != 3+9*m.Layers {
		t.Fatalf("%d tensors, want %d", len(s.tensors), 3+9*m.Layers)
	}
	want := map[string][]uint64{
		"token_embd.weight": {32, uint64(len(tokens))}, "output.weight": {32, uint64(len(tokens))},
		"blk.1.attn_k.weight": {32, 16}, "blk.1.ffn_down.weight": {64, 32}, "output_norm.weight": {32},
	}
	var end uint64
	for i, tn := range s.tensors {
		if s.offsets[i]%ggufAlignment != 0 || s.offsets[i] < end {
			t.Errorf("tensor %s at offset %d: unaligned or overlapping (previous ends at %d)", tn.name, s.offsets[i], end)
		}
		n := uint64(1)
		for _, d := range tn.dims {
			n *= d
		}
		size := n * 2
		if tn.typ == ggmlF32 {
			size = n * 4
		}
		end = s.offsets[i] + size
		if w, ok := want[tn.name]; ok && fmt.Sprint(w) != fmt.Sprint(tn.dims) {
			t.Errorf("tensor %s has dims %v, want %v", tn.name, tn.dims, w)
		}
		if strings.HasSuffix(tn.name, "norm.weight") != (tn.typ == ggmlF32) {
			t.Errorf("tensor %s has type %d: norms F32, matrices F16", tn.name, tn.typ)
		}
	}
	fi, _ := f.Stat()
	if got := uint64(fi.Size()); got != s.dataOffset+ggufPad(end) {
		t.Fatalf("file is %d bytes, want data offset %d + tensors %d", got, s.dataOffset, ggufPad(end))
	}
	// output.weight is last: its first rows (special and byte tokens) are zero.
	last := len(s.tensors) - 1
	if s.tensors[last].name != "output.weight" {
		t.Fatalf("last tensor %s", s.tensors[last].name)
	}
	row := make([]byte, tinyFirstText*m.Embd*2+2)
	if _, err := f.ReadAt(row, int64(s.dataOffset+s.offsets[last])); err != nil {
		t.Fatal(err)
	}
	if nz := strings.Trim(string(row[:len(row)-2]), "\x00"); nz != "" || row[len(row)-2]|row[len(row)-1] == 0 {
		t.Errorf("output rows of special/byte tokens not all zero, or the first text token's row starts at zero")
	}
}
