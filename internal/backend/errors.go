package backend

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// StatusError is an HTTP response with status >= 400 (returned by Models;
// Do records the same facts in the record instead).
type StatusError struct {
	StatusCode int    // HTTP status code
	Body       string // first 1 KiB of the response body
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Body)
}

// ErrorBodyLimit is how much of an error body is kept (1 KiB).
const ErrorBodyLimit = 1 << 10

// Causes of a cancelled attempt, told apart with context.Cause.
var (
	errRequestTimeout = errors.New("request timeout")
	errIdleTimeout    = errors.New("idle timeout")
	errDrained        = errors.New("drain done")
)

// limitText keeps the first ErrorBodyLimit bytes of s.
func limitText(s string) string { return truncUTF8(s, ErrorBodyLimit) }

// truncUTF8 returns at most n bytes of s, not cutting a UTF-8 sequence in two.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = n // not UTF-8 anyway
	}
	return s[:cut]
}

// byteSize formats a byte count for messages.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}
