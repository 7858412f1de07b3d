package profile

import (
	"fmt"
	"maps"
	"math"
)

// Figure keys of the standard profile, in the order they are reported.
const (
	ChatTTFT        = "chat_ttft_p50_ms"        // chat: median time to first token
	TTFT4k          = "ttft_4k_p50_ms"          // 4,096-token prompt: median time to first token
	TTFT32k         = "ttft_32k_p50_ms"         // 32,768-token prompt: median time to first token
	DecodeRate      = "decode_tps_p50"          // decode at one stream: median decode rate
	ConcurrencyGain = "concurrency_gain"        // output tokens/s of 4 streams ÷ of 1 stream
	SustainedRatio  = "sustained_ratio"         // median decode rate after the sustained generation ÷ before it
	TokensPerJoule  = "decode_tokens_per_joule" // decode at one stream: output tokens per joule (where power is measured)
)

// FigureDef describes one figure of a profile.
type FigureDef struct {
	Key           string
	Title         string
	Unit          string
	LowerIsBetter bool
	// Scored figures enter the composite score; the others are reported
	// beside it (energy: measured on few machines, so never scored).
	Scored bool
}

// Figures lists the standard profile's figures, in report order.
var Figures = []FigureDef{
	{ChatTTFT, "Chat TTFT p50", "ms", true, true},
	{TTFT4k, "TTFT p50 at 4k input", "ms", true, true},
	{TTFT32k, "TTFT p50 at 32k input", "ms", true, true},
	{DecodeRate, "Decode rate p50", "tok/s", false, true},
	{ConcurrencyGain, "4 streams ÷ 1 stream", "×", false, true},
	{SustainedRatio, "Sustained ÷ start", "×", false, true},
	{TokensPerJoule, "Decode tokens per joule", "tok/J", false, false},
}

// FigureByKey returns the definition of figure key.
func FigureByKey(key string) (FigureDef, bool) {
	for _, f := range Figures {
		if f.Key == key {
			return f, true
		}
	}
	return FigureDef{}, false
}

// Reference is the named set of figures a profile's score is relative to:
// a run with exactly these figures scores 100.
type Reference struct {
	Name    string             `json:"name"`
	About   string             `json:"about"`
	Figures map[string]float64 `json:"figures"`
}

// ReferenceV1 is version 1's reference: nominal figures of a
// laptop-class machine running a small (3–4 B parameter, 4-bit) model on
// its GPU. They are a fixed yardstick, versioned with the profile, not a
// measurement to reproduce: a machine twice as fast on every scored figure
// scores 200.
var ReferenceV1 = Reference{
	Name:  "reference-laptop/1",
	About: "nominal laptop-class figures for a 3–4 B parameter 4-bit model (standard/1's yardstick)",
	Figures: map[string]float64{
		ChatTTFT:        300,
		TTFT4k:          4000,
		TTFT32k:         40000,
		DecodeRate:      20,
		ConcurrencyGain: 2,
		SustainedRatio:  0.9,
	},
}

// ReferenceV2 is version 2's reference. Its figures are version 1's
// nominal ones: the yardstick is the same laptop-class machine, and a
// 4,096-token prompt in the model's own count (chat template included) is
// the length version 1 aimed at with the estimate. It is named apart
// because the workload changed: version 2's scores are a column of their
// own, never ranked against version 1's.
var ReferenceV2 = Reference{
	Name:    "reference-laptop/2",
	About:   "nominal laptop-class figures for a 3–4 B parameter 4-bit model (standard/2's yardstick; long prompts exact in the model's tokens)",
	Figures: maps.Clone(ReferenceV1.Figures),
}

// StandardReferences holds each version's reference, by version.
var StandardReferences = map[int]Reference{1: ReferenceV1, 2: ReferenceV2}

// StandardReference is the newest version's reference (StandardVersion).
var StandardReference = ReferenceV2

// Value is one figure of a profiled model: its value, or why it has none.
type Value struct {
	Key   string   `json:"key"`
	Value *float64 `json:"value"`          // null: not measured (Note says why)
	Note  string   `json:"note,omitempty"` // why a figure is missing, or why to doubt it (a prompt the engine may have cut)
	// Normalised is the figure against the reference, ×100 (higher is
	// better for every figure): ref/value for lower-is-better figures,
	// value/ref for the others. Null for unscored or missing figures.
	Normalised *float64 `json:"normalised"`
}

// Score is the composite score of values against ref: the geometric mean
// of the scored figures' normalised values (reference = 100). Missing
// figures are left out and named in missing; a score with any missing
// figure is partial (complete false). ok is false when no scored figure
// has a value.
func Score(values []Value, ref Reference) (score float64, complete bool, missing []string, ok bool) {
	sum, n := 0.0, 0
	complete = true
	for i := range values {
		v := &values[i]
		def, known := FigureByKey(v.Key)
		if !known || !def.Scored {
			continue
		}
		r, hasRef := ref.Figures[v.Key]
		if v.Value == nil || !hasRef || !(*v.Value > 0) || math.IsInf(*v.Value, 0) || !(r > 0) {
			complete = false
			missing = append(missing, v.Key)
			continue
		}
		norm := *v.Value / r
		if def.LowerIsBetter {
			norm = r / *v.Value
		}
		x := 100 * norm
		v.Normalised = &x
		sum += math.Log(norm)
		n++
	}
	if n == 0 {
		return 0, false, missing, false
	}
	return 100 * math.Exp(sum/float64(n)), complete, missing, true
}

// FormatScore writes a score to one decimal, marked "partial" when figures
// are missing.
func FormatScore(score float64, complete bool) string {
	s := fmt.Sprintf("%.1f", score)
	if !complete {
		s += " (partial)"
	}
	return s
}
