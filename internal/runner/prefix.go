package runner

import (
	"flperf/internal/result"
	"flperf/internal/suite"
)

// Prefix-cache modes and the stage labels of a warm run
// (result.PrefixCold etc.).
const (
	PrefixCold      = result.PrefixCold
	PrefixWarm      = result.PrefixWarm
	StagePrefixCold = result.StagePrefixCold
	StagePrefixWarm = result.StagePrefixWarm
	MaxPrefixTokens = result.MaxPrefixTokens
)

// prefixed applies the run's shared prefix to the messages of one request
// of stage: the prefix before them, and the nonce first (cold) or on the
// last message (the warm stage). Without a prefix the nonce goes first, as
// suite.BuildMessages places it.
func prefixed(c *Config, msgs []suite.Message, nonce, stage string) []suite.Message {
	if c.PrefixTokens <= 0 {
		if nonce != "" && len(msgs) > 0 {
			msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
		}
		return msgs
	}
	msgs = suite.WithPrefix(msgs, suite.SharedPrefix(c.PrefixTokens))
	if stage == StagePrefixWarm {
		suite.NonceLast(msgs, nonce)
	} else if nonce != "" {
		msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
	}
	return msgs
}
