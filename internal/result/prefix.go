package result

import "fmt"

// Prefix-cache modes (Config.PrefixCache, `flperf run --prefix-cache`).
const (
	// PrefixCold, the default: the per-request nonce comes first, so no
	// request can reuse another's prefix and every one prefills it all.
	PrefixCold = "cold"
	// PrefixWarm runs every model × scenario twice with the shared prefix
	// of Config.PrefixTokens: a cold stage as PrefixCold, then a warm stage
	// whose warm-up request primes the engine's cache with the prefix and
	// whose requests carry their nonce in their last message, so that they
	// share the prefix and differ after it (docs/metrics.md §12).
	PrefixWarm = "warm"
)

// Stage labels of a PrefixWarm run.
const (
	StagePrefixCold = "prefix cold"
	StagePrefixWarm = "prefix warm"
)

// MaxPrefixTokens is the largest Config.PrefixTokens.
const MaxPrefixTokens = 1 << 20

// CheckPrefix reports what is wrong with the prefix-cache settings, nil
// when nothing is; each error names its flag.
func (c *Config) CheckPrefix() error {
	switch c.PrefixCache {
	case "", PrefixCold, PrefixWarm:
	default:
		return fmt.Errorf("prefix_cache: must be %q or %q, got %q", PrefixCold, PrefixWarm, c.PrefixCache)
	}
	switch {
	case c.PrefixTokens < 0 || c.PrefixTokens > MaxPrefixTokens:
		return fmt.Errorf("prefix_tokens: must be between 0 and %d, got %d", MaxPrefixTokens, c.PrefixTokens)
	case c.PrefixCache == PrefixWarm && c.PrefixTokens == 0:
		return fmt.Errorf("prefix_cache: %q needs prefix_tokens, the length of the shared prefix", PrefixWarm)
	case c.PrefixCache == PrefixWarm && len(c.Levels) >= 2:
		return fmt.Errorf("prefix_cache: %q runs its own cold and warm stages; it cannot be combined with a load sweep", PrefixWarm)
	}
	return nil
}
