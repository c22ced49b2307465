package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Enter runs this process again inside a fresh lab and returns the exit
// code of that run. It is for TestMain, before m.Run:
//
//	if !lab.Inside() {
//		// build binaries here: the lab has no way out
//		code, err := lab.Enter("KWHISK_X=" + built)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		os.Exit(code)
//	}
//	l, err := lab.Current() // inside: make hosts from l
//
// The child is the same executable with the same arguments, working
// directory and environment, plus env and the marker Inside looks for;
// it runs under `ip netns exec <lab>` with this process's stdin, stdout
// and stderr, so `go test` sees its output as its own. SIGINT, SIGTERM,
// SIGQUIT and SIGHUP are passed on to it (go test's timeout sends SIGQUIT
// for a goroutine dump); it gets SIGKILL if this process dies. Once it
// has exited, Enter kills whatever is left in the lab's namespaces and
// removes the lab. Stale labs of earlier runs go first (RemoveStale).
// A child killed by a signal gives 128 + the signal's number.
func Enter(env ...string) (int, error) {
	if Inside() {
		return 0, errors.New("lab: already inside a lab")
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	l, err := Create()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(ipPath(), append([]string{"netns", "exec", l.name, exe}, os.Args[1:]...)...)
	cmd.Env = append(append(os.Environ(), envMarker+"="+l.name), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, errors.Join(fmt.Errorf("lab: start %s in %s: %w", exe, l.name, err), l.Close())
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	werr := cmd.Wait()
	close(done)
	code := 0
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return 0, errors.Join(werr, l.Close())
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	if err := l.Close(); err != nil {
		return code, fmt.Errorf("lab: removing %s: %w", l.name, err)
	}
	return code, nil
}
