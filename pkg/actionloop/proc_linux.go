package actionloop

import "syscall"

// sysProcAttr puts the launcher in its own process group, so a kill takes
// everything it started, and has the kernel kill it if the gateway dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
