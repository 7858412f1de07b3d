package engine

// The Prometheus text format parser: engines' /metrics pages (vLLM, SGLang,
// llama.cpp) are parsed with the Prometheus project's own expfmt rather than
// by hand.
import _ "github.com/prometheus/common/expfmt"
