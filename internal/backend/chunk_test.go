package backend

import (
	"fmt"
	"strings"
	"testing"
)

// frameString renders a frame for comparisons and failure messages.
func frameString(f *frame) string {
	return fmt.Sprintf("content=%q reasoning_content=%q reasoning=%q finish=%q usage=(%d,%d,%d) timings=(%d,%d,%d,%v,%v) stats=(%v,%v,%v) error=%q",
		f.content, f.reasoningContent, f.reasoning, f.finish,
		f.promptTokens, f.completionTokens, f.cachedTokens,
		f.promptN, f.predictedN, f.cacheN, f.promptMS, f.predictedMS,
		f.statsTPS, f.statsTTFT, f.statsGen, f.errVal)
}

// Realistic chunks from the engines of docs/engines.md, plus tricky but valid
// shapes, all of which the fast path must handle itself.
var fastChunks = []string{
	`{"id":"c-9","object":"chat.completion.chunk","created":1732700000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"c-9","choices":[{"index":0,"delta":{"content":"Good morning"}}],"usage":null}`,
	`{"id":"c-9","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"c-9","choices":[],"usage":{"prompt_tokens":18,"completion_tokens":2,"total_tokens":20}}`,
	`{"choices":[],"model":"llama.gguf","object":"chat.completion.chunk","usage":{"completion_tokens":128,"prompt_tokens":136,"total_tokens":264,"prompt_tokens_details":{"cached_tokens":96}},"timings":{"cache_n":96,"prompt_n":40,"prompt_ms":88.0,"prompt_per_second":454.5,"predicted_n":128,"predicted_ms":2300.5,"predicted_per_token_ms":17.97,"predicted_per_second":55.64}}`,
	`{"choices":[{"delta":{"role":"assistant","content":null}}]}`,
	`{"choices":[{"delta":{"reasoning_content":"Let me think"}}]}`,
	`{"choices":[{"delta":{"reasoning":"hmm","content":""}}]}`,
	`{"choices":[{"delta":{"reasoning_content":"a","reasoning":"a"}}]}`,
	`{"choices":[{"delta":{"content":"line\nbreak \"quoted\" tab\t slash\/ back\\ \b\f\r"}}]}`,
	`{"choices":[{"delta":{"content":"caf\u00e9 \u4e16\u754c smile \ud83d\ude00"}}]}`,
	`{"choices":[{"delta":{"content":"lone \ud800 high, lone \udc00 low, reversed \udc00\ud800"}}]}`,
	`{"choices":[{"delta":{"content":"raw UTF-8: café 世界 😀"}}]}`,
	"{\"choices\":[{\"delta\":{\"content\":\"bad \xff\xfe utf8 \xc3\"}}]}",
	`{"choices":[{"delta":{"content":"data: [DONE]"}}]}`,
	`{"choices":[{"delta":{"content":"a","content":"b"}}]}`,
	`{"choices":[{"delta":{"content":"a","content":7}}]}`,
	`{"choices":[{"delta":{"content":"a"}}],"choices":[]}`,
	`{"choices":[{"delta":{"content":"a"},"delta":null}]}`,
	`{"choices":[{"delta":{"content":"first"}},{"delta":{"content":"second"}}]}`,
	`{"choices":[7,{"delta":{"content":"x"}}]}`,
	`{"choices":{"delta":{"content":"x"}}}`,
	`{"choices":null,"usage":{"completion_tokens":null,"prompt_tokens":"5"}}`,
	`{"usage":{"completion_tokens":1.0,"prompt_tokens":1e2,"prompt_tokens_details":{"cached_tokens":-3}}}`,
	`{"usage":{"completion_tokens":-0,"prompt_tokens":9223372036854775807}}`,
	`{"usage":{"completion_tokens":9223372036854775808}}`,
	`{"usage":{"completion_tokens":5},"usage":{"prompt_tokens":6}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":{}}}`,
	`{"timings":{"prompt_n":1,"predicted_n":2,"cache_n":3},"timings":"x"}`,
	`{"error":null,"choices":[{"delta":{"content":"ok"}}]}`,
	`{"error":{"message":"boom","type":"server_error","code":500}}`,
	`{"error":"plain string"}`,
	`{"error":false}`,
	`{"error":""}`,
	`{"error":{"message":"x"},"error":null}`,
	`{"object":"error","message":"flat sglang error","type":"BadRequestError","code":400}`,
	` { "choices" : [ { "delta" : { "content" : "spaced" } , "finish_reason" : "length" } ] } ` + "\r\n\t",
	`{}`,
	`{"a":[1,-2.5e+3,true,false,null,{"b":[]},"s"],"c":{"d":{"e":0.0}}}`,
	`{"choices":[{"finish_reason":7}]}`,
	`{"choices":[{"finish_reason":"stop","finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14},"stats":{"tokens_per_second":61.7,"time_to_first_token":0.092,"generation_time":2.07,"stop_reason":"eosFound"}}`,
	`{"timings":{"prompt_ms":-1,"predicted_ms":1e999,"prompt_n":3},"stats":{"tokens_per_second":null,"time_to_first_token":"0.1","generation_time":0}}`,
}

// Inputs the fast path hands to the reference parser (malformed, or shapes
// it does not decode itself); parse must still equal the reference.
var fallbackChunks = []string{
	``,
	`   `,
	`null`,
	`[]`,
	`"str"`,
	`42`,
	`{"choices":[`,
	`{"choices":[{"delta":{"content":"unterminated`,
	`{"a":1}{"b":2}`,
	`{"a":1,}`,
	`{"a" 1}`,
	`{"a":01}`,
	`{"a":-}`,
	`{"a":1.}`,
	`{"a":1e}`,
	`{"a":tru}`,
	`{"a":"\x"}`,
	`{"a":"\u12"}`,
	`{"a":"\'"}`,
	"{\"a\":\"ctl\x01\"}",
	"\xef\xbb\xbf{}",
	`{"ch\u006fices":[{"delta":{"content":"escaped key"}}]}`,
	`{"choices":[{"delta":{"con\"tent":"x"}}]}`,
	`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	`{"choices":[{"delta":{"content":"x"}}]} trailing`,
}

func TestChunkFastPath(t *testing.T) {
	for _, in := range fastChunks {
		var p chunkParser
		var ff, rf frame
		if !p.fast([]byte(in), &ff) {
			t.Errorf("fast path gave up on %q", in)
			continue
		}
		if err := refParse([]byte(in), "delta", &rf); err != nil {
			t.Errorf("reference rejects %q: %v", in, err)
			continue
		}
		if got, want := frameString(&ff), frameString(&rf); got != want {
			t.Errorf("%q:\nfast %s\nref  %s", in, got, want)
		}
	}
}

func TestChunkFallback(t *testing.T) {
	for _, in := range fallbackChunks {
		var p chunkParser
		var ff, rf frame
		if p.fast([]byte(in), &ff) {
			t.Errorf("fast path accepted %.60q", in)
		}
		checkParse(t, []byte(in))
		_ = rf
	}
}

// TestChunkValues pins what a few chunks mean, independently of either parser.
func TestChunkValues(t *testing.T) {
	cases := []struct{ in, want string }{
		{fastChunks[1], `content="Good morning" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[4], `content="" reasoning_content="" reasoning="" finish="" usage=(136,128,96) timings=(40,128,96,88,2300.5) stats=(-1,-1,-1) error=""`},
		{fastChunks[10], `content="café 世界 smile 😀" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[15], `content="b" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[16], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[19], `content="first" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[23], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[24], `content="" reasoning_content="" reasoning="" finish="" usage=(9223372036854775807,0,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[26], `content="" reasoning_content="" reasoning="" finish="" usage=(6,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[29], `content="ok" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[30], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error="{\"message\":\"boom\",\"type\":\"server_error\",\"code\":500}"`},
		{fastChunks[32], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[34], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[36], `content="spaced" reasoning_content="" reasoning="" finish="length" usage=(-1,-1,-1) timings=(-1,-1,-1,-1,-1) stats=(-1,-1,-1) error=""`},
		{fastChunks[len(fastChunks)-2], `content="" reasoning_content="" reasoning="" finish="stop" usage=(12,2,-1) timings=(-1,-1,-1,-1,-1) stats=(61.7,0.092,2.07) error=""`},
		{fastChunks[len(fastChunks)-1], `content="" reasoning_content="" reasoning="" finish="" usage=(-1,-1,-1) timings=(3,-1,-1,-1,-1) stats=(-1,-1,0) error=""`},
	}
	for _, c := range cases {
		var p chunkParser
		var f frame
		if err := p.parse([]byte(c.in), &f); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if got := frameString(&f); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// checkParse asserts that the fast path, when it answers, and parse (fast
// path with fallback) both agree with the reference parser.
func checkParse(t *testing.T, data []byte) {
	t.Helper()
	var p chunkParser
	var ff, pf, rf frame
	rerr := refParse(data, "delta", &rf)
	if p.fast(data, &ff) {
		if rerr != nil {
			t.Fatalf("fast path accepted what the reference rejects (%v): %q", rerr, data)
		}
		if got, want := frameString(&ff), frameString(&rf); got != want {
			t.Fatalf("%q:\nfast %s\nref  %s", data, got, want)
		}
	}
	perr := p.parse(data, &pf)
	if (perr == nil) != (rerr == nil) {
		t.Fatalf("parse error %v, reference error %v: %q", perr, rerr, data)
	}
	if perr == nil {
		if got, want := frameString(&pf), frameString(&rf); got != want {
			t.Fatalf("%q:\nparse %s\nref   %s", data, got, want)
		}
	}
}

func FuzzChunkParse(f *testing.F) {
	for _, s := range fastChunks {
		f.Add([]byte(s))
	}
	for _, s := range fallbackChunks {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
	})
}

func TestChunkParseNoAllocs(t *testing.T) {
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" line\nwith caf\u00e9 and 😀"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`)
	var p chunkParser
	var f frame
	_ = p.parse(data, &f) // warm the scratch buffer
	if n := testing.AllocsPerRun(100, func() { _ = p.parse(data, &f) }); n != 0 {
		t.Errorf("parse allocates %v times per chunk, want 0", n)
	}
}
