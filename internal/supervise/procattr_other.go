//go:build !unix

package supervise

import "syscall"

// Supported reports whether Run works on this system: it does not, as
// sockets cannot be handed to a child process here.
const Supported = false

func sysProcAttr() *syscall.SysProcAttr { return nil }
