package engine

import (
	"regexp"
	"strings"
)

// userinfoRe finds the user:password@ part of URLs in free text.
var userinfoRe = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s"'<>]*@`)

// RedactUserinfo removes the user:password@ part of every URL in s (an
// endpoint, a command-line argument, an error message), so that
// credentials written into an endpoint never reach a log, a run or an
// answer.
func RedactUserinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfoRe.ReplaceAllString(s, "$1")
}
