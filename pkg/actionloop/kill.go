//go:build unix

package actionloop

import "syscall"

// kill sends SIGKILL to the launcher's process group.
func (i *Instance) kill() {
	// ESRCH only says the group is already gone.
	_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
}
