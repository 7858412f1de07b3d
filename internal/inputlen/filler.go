package inputlen

import (
	"math/rand/v2"
	"strings"
)

// fillerWords is the filler's vocabulary: short, common English words that
// most tokenizers take as one token each (with the space before them), so
// that the filler's length in tokens moves one token per word. Written for
// this project.
var fillerWords = [...]string{
	"the", "river", "north", "stone", "light", "house", "green", "small",
	"water", "field", "bread", "road", "night", "city", "sound", "paper",
	"table", "open", "cold", "warm", "blue", "long", "early", "late",
	"bird", "tree", "hand", "door", "slow", "quick", "clear", "deep",
	"hill", "wind", "rain", "snow", "sea", "boat", "train", "town",
	"window", "garden", "market", "summer", "winter", "morning", "evening", "music",
	"story", "letter", "simple", "bright", "quiet", "public", "world", "number",
	"color", "animal", "friend", "school", "country", "people", "little", "every",
}

// sentenceWords is how many words a filler sentence has before its full
// stop.
const sentenceWords = 12

// Filler is a deterministic text of words words for seed: the same seed
// always gives the same text, and Filler(seed, k) is a prefix of
// Filler(seed, k+1) up to its last full stop, so that its length in tokens
// grows with k. Sentences of sentenceWords words end with a full stop.
func Filler(seed int64, words int) string {
	var b strings.Builder
	b.Grow(words * 7)
	r := rand.New(rand.NewPCG(uint64(seed), 0x66696c6c6572)) // "filler"
	for i := range words {
		w := fillerWords[r.IntN(len(fillerWords))]
		switch {
		case i == 0:
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		case i%sentenceWords == 0:
			b.WriteString(". ")
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		default:
			b.WriteByte(' ')
			b.WriteString(w)
		}
	}
	return b.String()
}

// tails are what the search appends to a filler when one more word costs
// two tokens and the length asked for lies between: a character or a
// short word that most tokenizers count as one token.
var tails = [...]string{".", ",", " a", " I", "!", " and", ";", " of"}

// fillerText is the longest filler of one seed made so far, with the end
// of each of its words: a shorter filler is a prefix of it, so every
// prompt of a Resolver shares its memory.
type fillerText struct {
	text string
	ends []int // ends[k-1]: the byte length of the filler of k words
}

// filler returns Filler(seed, k), a slice of the longest made so far.
func (r *Resolver) filler(k int) string {
	f := &r.fill
	if k <= 0 {
		return ""
	}
	if k > len(f.ends) {
		n := max(k, 2*len(f.ends))
		f.text = Filler(r.o.Seed, n)
		f.ends = f.ends[:0]
		// Word i ends before the separator of word i+1: " ", or ". ".
		for i := 1; i < len(f.text); i++ {
			if f.text[i] != ' ' {
				continue
			}
			end := i
			if f.text[i-1] == '.' {
				end--
			}
			f.ends = append(f.ends, end)
		}
		f.ends = append(f.ends, len(f.text))
	}
	return f.text[:f.ends[k-1]]
}
