//go:build !windows

package cli

import "os"

// enableVT reports whether the terminal f handles ANSI escape codes: every
// terminal outside Windows does.
func enableVT(*os.File) bool { return true }
