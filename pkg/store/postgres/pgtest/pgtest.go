// Package pgtest starts throwaway PostgreSQL servers for tests, from the
// server binaries on the machine (Debian's postgresql package): initdb
// into a temporary directory, pg_ctl start on a free loopback port with
// the socket in that directory, fsync off, and pg_ctl stop at the end.
//
// initdb refuses to run as root; as root the server runs as the postgres
// user (runuser), which owns the temporary directory.
//
// Where the binaries are missing, tests skip, except under CI (CI=true),
// where they fail: `make test` installs the package first.
//
// It may import the standard library.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Package names the Debian package with the server binaries.
const Package = "postgresql"

// Server is a running throwaway PostgreSQL. Its superuser is postgres,
// trusted on loopback without a password.
type Server struct {
	// URL connects to its postgres database.
	URL  string
	Port int

	dir  string // removed by Stop
	bin  string
	run  []string // the command prefix running a binary as the server's user
	opts string   // the server options pg_ctl start passes
}

// ErrNoBinaries is returned by Start when no PostgreSQL server binaries
// are found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's " + Package + " package, or set KWHISK_PG_BIN to their directory")

// BinDir returns the directory holding initdb and pg_ctl: $KWHISK_PG_BIN,
// else the newest /usr/lib/postgresql/<version>/bin, else the directory of
// initdb on $PATH.
func BinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("KWHISK_PG_BIN"); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("KWHISK_PG_BIN=%s: %w", dir, ErrNoBinaries)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin") // the pattern is valid
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", ErrNoBinaries
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir))) // 0 sorts last
	return v
}

// Start initializes and starts a server. Stop stops it and removes its
// files.
func Start(ctx context.Context) (_ *Server, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kwhisk-pg-")
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{dir: dir, bin: bin}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir) // the start error is the one to report
		}
	}()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("start postgres as root: initdb refuses root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		s.run = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.cmd(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s "+
		"-c fsync=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=32MB", s.Port, dir)
	if err := s.Restart(ctx); err != nil {
		return nil, err
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	return s, nil
}

func (s *Server) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(slices.Clone(s.run), append([]string{filepath.Join(s.bin, name)}, args...)...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir = s.dir
	return c
}

// Restart starts the server (again, after Kill) on its port and waits
// until it accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	if out, err := s.cmd(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", filepath.Join(s.dir, "data"),
		"-l", filepath.Join(s.dir, "log"), "-o", s.opts).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// Kill stops the server at once and keeps its files, as an outage would:
// open connections break, committed data stays. Restart brings it back.
func (s *Server) Kill(ctx context.Context) error {
	if out, err := s.cmd(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", filepath.Join(s.dir, "data")).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Stop stops the server at once (in-flight transactions are rolled back)
// and removes its files.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.cmd(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", filepath.Join(s.dir, "data")).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w\n%s", err, bytes.TrimSpace(out))
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// SchemaURL returns the server's URL with the tables in schema (a store
// creates it), so each test can have its own store in one database.
func (s *Server) SchemaURL(schema string) string {
	return s.URL + "&search_path=" + schema
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's server, starting it on first use; Main
// stops it. Without server binaries it skips t, or fails it under CI.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Start(context.Background()) })
	if errors.Is(shared.err, ErrNoBinaries) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", shared.err)
	}
	if shared.err != nil {
		t.Fatalf("start PostgreSQL: %v", shared.err)
	}
	return shared.srv
}

// Private starts a server of t's own, stopped when t ends: for tests that
// stop and restart it. Without server binaries it skips t, or fails it
// under CI.
func Private(t testing.TB) *Server {
	t.Helper()
	srv, err := Start(context.Background())
	if errors.Is(err, ErrNoBinaries) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})
	return srv
}

// Main runs the tests and stops the server Shared started, if any. Call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}
