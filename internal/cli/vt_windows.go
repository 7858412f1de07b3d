package cli

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT turns on the console's handling of ANSI escape codes (virtual
// terminal processing, Windows 10 and later), which the live display
// draws with; false when the console refuses (an older one), and the
// display is then not drawn.
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
