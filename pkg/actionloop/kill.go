//go:build unix

package actionloop

import "syscall"

// kill sends SIGKILL to the launcher's process group.
func (i *Instance) kill() {
	// ESRCH only says the group is already gone.
	_ = killGroup(i.cmd.Process.Pid)
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
