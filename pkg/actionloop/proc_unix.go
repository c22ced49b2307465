//go:build unix && !linux

package actionloop

import "syscall"

// sysProcAttr puts the launcher in its own process group, so a kill takes
// everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
