// Command flperf benchmarks large language models served on this machine.
// See the README for usage; all logic lives in package flperf/internal/cli.
package main

import (
	"context"
	"os"

	"flperf/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
