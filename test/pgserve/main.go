// Command pgserve runs a command beside a throwaway PostgreSQL server:
// it starts one (pgtest), runs the command with KWHISK_E2E_STORE_URL set to
// the server's URL, stops the server and exits with the command's status.
// `make e2e-postgres` runs the e2e suite under it.
//
//	go run ./test/pgserve -- node --test ...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: pgserve [--] COMMAND [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	srv, err := pgtest.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgserve:", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "pgserve: PostgreSQL on 127.0.0.1:%d\n", srv.Port)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "KWHISK_E2E_STORE_URL="+srv.URL)
	// An interrupt reaches the command (same process group); pgserve waits
	// for it to end, then stops the server.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return max(exit.ExitCode(), 1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		return 1
	}
	return 0
}
