package stats

// EnergyUnit is the unit of an EnergyRow's figures.
const EnergyUnit = "J/token"

// EnergyNote is the Note of every EnergyRow: why it has no p-value.
const EnergyNote = "one measurement per stage (the stage's energy over its output tokens): no significance test"

// EnergyRow compares the energy per output token (joules per token, from
// the resource sampler's power readings: docs/metrics.md §9) of one model ×
// scenario stage, or of one model's stages together (Pooled), across the
// two sides of a Comparison. Each side's figure is a single measurement,
// the energy of the whole window divided by the tokens produced in it, so
// there is no distribution to test: an EnergyRow is never significant and
// never gates. Rows exist only where both sides measured the energy.
type EnergyRow struct {
	Model    string  // model name; "" when the sides are paired by scenario only
	Scenario string  // scenario name; "" on a pooled row
	Pooled   bool    // the row covers every stage of Model (its whole window)
	Base     float64 // J/token of the base
	Cand     float64 // J/token of the candidate
	Delta    float64 // (Cand − Base)/Base; NaN when Base is not positive
	Note     string  // EnergyNote, and what else a reader must know (different power sources)
}

// NewEnergyRow returns the row for base and cand joules per token, with
// Delta computed and Note set to EnergyNote followed by extra, if any.
func NewEnergyRow(model, scenario string, pooled bool, base, cand float64, extra string) EnergyRow {
	r := EnergyRow{Model: model, Scenario: scenario, Pooled: pooled, Base: base, Cand: cand, Delta: nan, Note: EnergyNote}
	if base > 0 && finite(base) && finite(cand) {
		if d := (cand - base) / base; finite(d) {
			r.Delta = d
		}
	}
	if extra != "" {
		r.Note += "; " + extra
	}
	return r
}
