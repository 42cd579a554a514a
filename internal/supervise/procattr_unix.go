//go:build unix && !linux

package supervise

import "syscall"

// Supported reports whether Run works on this system.
const Supported = true

// sysProcAttr puts the worker in its own process group, so that a
// terminal's Ctrl-C reaches only the supervisor (which passes it on once).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
