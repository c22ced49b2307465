//go:build unix

package actionloop

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// kill sends SIGKILL to the launcher's process group.
func (p *process) kill() {
	// ESRCH only says the group is already gone.
	_ = killGroup(p.cmd.Process.Pid)
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// startCmd starts cmd and returns it, or a copy of it: it retries while
// the kernel reports the executable busy. A file this process just wrote
// (a native exec, a Go binary) stays open for writing in children forked
// meanwhile until they exec, a race every Go program that writes and runs
// executables meets (golang/go#22315).
func startCmd(cmd *exec.Cmd) (*exec.Cmd, error) {
	pause := time.Millisecond
	for try := 0; ; try++ {
		err := cmd.Start()
		if !errors.Is(err, syscall.ETXTBSY) || try == 8 {
			return cmd, err
		}
		time.Sleep(pause) // not synchronisation: the forked children exec within microseconds
		pause *= 2
		// An exec.Cmd cannot be started twice.
		c := exec.Command(cmd.Path, cmd.Args[1:]...)
		c.Dir, c.Env, c.SysProcAttr = cmd.Dir, cmd.Env, cmd.SysProcAttr
		c.Stdin, c.Stdout, c.Stderr, c.ExtraFiles = cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.ExtraFiles
		cmd = c
	}
}
