package engine

import (
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
)

// foundryPlatform is the platform the detection notes are worded for
// (GOOS/GOARCH; a variable so that tests can word them for any platform).
var foundryPlatform = runtime.GOOS + "/" + runtime.GOARCH

// foundryUnservedNote explains that the address the foundry CLI reported
// (base, found by the command by) does not serve Foundry Local. It names
// only that address, never the URLs probed there, and blames the known
// Windows ARM64 (Snapdragon X) problem only on Windows ARM64; elsewhere the
// service reports an address it does not serve. short is the one-line form
// of `flperf engines`.
func foundryUnservedNote(by, base string, err error, short bool) string {
	addr := base
	if u, perr := url.Parse(base); perr == nil && u.Host != "" {
		addr = u.Host
	}
	what := "nothing accepts connections at " + addr
	if err != nil && !errors.Is(err, ErrUnreachable) && !strings.Contains(err.Error(), "refused") {
		what = addr + " answers, but not like Foundry Local"
	}
	arm := foundryPlatform == "windows/arm64"
	switch {
	case short && arm:
		return fmt.Sprintf("the CLI reports %s, but %s: a known Foundry Local problem on Windows ARM64 (Snapdragon X); try Ollama or llama.cpp", base, what)
	case short:
		return fmt.Sprintf("the CLI reports %s, but %s: the service reports an address it does not serve (restart it)", base, what)
	case arm:
		return fmt.Sprintf("%s reports %s, but %s. This is a known Foundry Local problem on Windows ARM64 (Snapdragon X): "+
			"the CLI reports an endpoint that does not accept connections. Try Ollama or llama.cpp's server instead, or pass --endpoint.", by, base, what)
	}
	return fmt.Sprintf("%s reports %s, but %s: the service reports an address it does not serve. "+
		"Restart it (`foundry service restart`, or `foundry server stop` and `foundry server start` on CLI 0.10+), or pass --endpoint.", by, base, what)
}
