package record

import "fmt"

// CheckCounts reports the first count of r that contradicts another, as no
// measured record's can, naming its field as exported (negative values are
// the caller's to refuse): less text than the kept text or the text events
// show, more characters than bytes, or estimates beyond the text (an estimate never exceeds the bytes
// it counts). A record read from elsewhere (an import) must pass it. Token
// counts beyond what the text can hold may be a server's real claim: Output
// and ITLRuns keep them from figures and memory.
func (r *Record) CheckCounts() error {
	switch {
	case r.TextBytes < len(r.Text):
		return fmt.Errorf("text_bytes %d is less than the %d bytes of text", r.TextBytes, len(r.Text))
	case r.TextBytes < r.ChunkCount:
		return fmt.Errorf("text_bytes %d is less than chunk_count %d (every text event carries text)", r.TextBytes, r.ChunkCount)
	case r.TextChars > r.TextBytes:
		return fmt.Errorf("text_chars %d exceeds text_bytes %d (a character is at least one byte)", r.TextChars, r.TextBytes)
	case r.EstOutTokens > r.TextBytes:
		return fmt.Errorf("estimated_output_tokens %d exceeds text_bytes %d", r.EstOutTokens, r.TextBytes)
	}
	est := 0
	for i, c := range r.Chunks {
		if est += max(c.Est, 1); est > r.TextBytes || est < 0 {
			return fmt.Errorf("chunks[%d].est: the events' estimates add up to more than text_bytes %d", i, r.TextBytes)
		}
	}
	return nil
}
