package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the programs the tests run in hosts: a TCP
// server, a client, and the child of TestEnter.
const (
	serveEnv = "KWHISK_LAB_TEST_SERVE" // listen on this address, greet each client
	dialEnv  = "KWHISK_LAB_TEST_DIAL"  // dial this address, print the greeting
	enterEnv = "KWHISK_LAB_TEST_ENTER" // re-execute in a lab; the child exits with this code
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		serve(addr)
		return
	}
	if addr := os.Getenv(dialEnv); addr != "" {
		os.Exit(dial(addr))
	}
	if want := os.Getenv(enterEnv); want != "" {
		if !Inside() {
			code, err := Enter()
			if err != nil {
				fmt.Fprintln(os.Stderr, "enter:", err)
				os.Exit(1)
			}
			os.Exit(code)
		}
		if code := m.Run(); code != 0 {
			os.Exit(code)
		}
		n, _ := strconv.Atoi(want)
		os.Exit(n)
	}
	os.Exit(m.Run())
}

func serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		fmt.Fprintf(c, "hello from %s\n", addr)
		c.Close()
	}
}

func dial(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Println("read:", err)
		return 1
	}
	fmt.Print(line)
	return 0
}

func need(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

// helper is the test binary in helper mode, to run through Command.
func helper(t *testing.T, mk func(ctx context.Context, name string, args ...string) *exec.Cmd, ctx context.Context, env string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := mk(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env)
	return cmd
}

// startServer runs the greeting server on addr through mk and waits
// until it listens.
func startServer(t *testing.T, mk func(ctx context.Context, name string, args ...string) *exec.Cmd, addr string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := helper(t, mk, ctx, serveEnv+"="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "listening\n" {
		t.Fatalf("server on %s: %q, %v", addr, line, err)
	}
	return cmd
}

// dialFrom runs the client through mk and returns what it printed.
func dialFrom(t *testing.T, mk func(ctx context.Context, name string, args ...string) *exec.Cmd, addr string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := helper(t, mk, ctx, dialEnv+"="+addr).Output()
	return strings.TrimSpace(string(out)), err
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestHostsReachEachOtherOnlyInsideTheLab(t *testing.T) {
	need(t)
	start := time.Now()
	l, err := Create()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			l.Close()
		}
	}()
	a, err := l.AddHost("ns1/a", "ns1.svc.cluster.local", "svc.cluster.local", "cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.AddHost("ns1/b")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lab %s with two hosts in %s", l.Name(), time.Since(start).Round(time.Millisecond))
	if got, want := a.IP().String(), "10.77.1.1"; got != want {
		t.Errorf("host a: IP %s, want %s", got, want)
	}
	if got, want := b.IP().String(), "10.77.1.2"; got != want {
		t.Errorf("host b: IP %s, want %s", got, want)
	}
	if a.Name() != l.Name()+"-p1" || b.Name() != l.Name()+"-p2" {
		t.Errorf("host namespaces %s, %s; want %s-p1, -p2", a.Name(), b.Name(), l.Name())
	}

	addrA := net.JoinHostPort(a.IP().String(), "8080")
	server := startServer(t, a.Command, addrA)
	want := "hello from " + addrA
	if got, err := dialFrom(t, b.Command, addrA); err != nil || got != want {
		t.Errorf("from host b: %q, %v; want %q", got, err, want)
	}
	if got, err := dialFrom(t, l.Command, addrA); err != nil || got != want {
		t.Errorf("from the lab: %q, %v; want %q", got, err, want)
	}
	// The root namespace has no route into the lab. (Its default route
	// may lead to something that accepts any connection, so the test is
	// that host a's server never greets.)
	if c, err := net.DialTimeout("tcp", addrA, time.Second); err == nil {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.Contains(line, "hello") {
			t.Errorf("from the root namespace: %s answered %q", addrA, line)
		}
	}
	// Hosts reach the lab's own servers at the gateway (the API server's
	// place), by the default route.
	addrLab := net.JoinHostPort(Gateway.String(), "8081")
	startServer(t, l.Command, addrLab)
	if got, err := dialFrom(t, b.Command, addrLab); err != nil || got != "hello from "+addrLab {
		t.Errorf("host b to the lab: %q, %v", got, err)
	}
	// Both hosts listen on the same port without a clash.
	addrB := net.JoinHostPort(b.IP().String(), "8080")
	startServer(t, b.Command, addrB)
	if got, err := dialFrom(t, a.Command, addrB); err != nil || got != "hello from "+addrB {
		t.Errorf("host a to host b: %q, %v", got, err)
	}

	ctx := context.Background()
	out, err := a.Command(ctx, "cat", "/etc/resolv.conf").Output()
	if err != nil {
		t.Fatal(err)
	}
	wantConf := "nameserver 10.77.0.1\nsearch ns1.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if string(out) != wantConf {
		t.Errorf("resolv.conf in host a:\n%s\nwant\n%s", out, wantConf)
	}
	out, err = b.Command(ctx, "cat", "/etc/resolv.conf").Output()
	if err != nil || string(out) != "nameserver 10.77.0.1\noptions ndots:5\n" {
		t.Errorf("resolv.conf in host b: %q, %v", out, err)
	}

	paths := []string{
		filepath.Join(netnsDir, l.Name()), filepath.Join(netnsDir, a.Name()), filepath.Join(netnsDir, b.Name()),
		filepath.Join(etcNetns, a.Name()), filepath.Join(etcNetns, b.Name()), filepath.Join(stateDir, l.Name()),
	}
	for _, p := range paths {
		if !exists(p) {
			t.Errorf("%s missing while the lab is open", p)
		}
	}
	start = time.Now()
	closed = true
	if err := l.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	t.Logf("closed in %s", time.Since(start).Round(time.Millisecond))
	for _, p := range paths {
		if exists(p) {
			t.Errorf("%s left after Close", p)
		}
	}
	// Close killed the server that still ran in host a.
	done := make(chan error, 1)
	go func() { done <- server.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the server in host a survived Close")
	}
	if _, err := l.AddHost("late"); err == nil {
		t.Error("AddHost after Close succeeded")
	}
}

func TestHostCommandContextKillsTheGroup(t *testing.T) {
	need(t)
	l, err := Create()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, err := l.AddHost("group")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The shell's child sleeps on: only a kill of the group ends it.
	cmd := h.Command(ctx, "sh", "-c", "sleep 60 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child pid %q", line)
	}
	cancel()
	_ = cmd.Wait()
	deadline := time.Now().Add(3 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %d survived the end of ctx", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !bytes.Contains(b, []byte(") Z "))
}

func TestHostAddressesAreNeverReused(t *testing.T) {
	need(t)
	l, err := Create()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := l.AddHost("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := l.AddHost("b")
	if err != nil {
		t.Fatal(err)
	}
	if b.IP().Equal(a.IP()) || b.Name() == a.Name() {
		t.Errorf("host after a closed one reuses %s / %s", b.IP(), b.Name())
	}
	// The 255th host starts the next /24.
	l.mu.Lock()
	l.next = 254
	l.mu.Unlock()
	c, err := l.AddHost("c")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.IP().String(); got != "10.77.2.1" {
		t.Errorf("host 255: IP %s, want 10.77.2.1", got)
	}
}

func TestRemoveStale(t *testing.T) {
	need(t)
	live, err := Create()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	// A lab whose creator is gone: this PID with another start time is
	// what a reused PID looks like.
	var b [4]byte
	rand.Read(b[:])
	stale := "kwl-" + hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Join(stateDir, stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, stale, "owner"), []byte(fmt.Sprintf("%d 1\n", os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(nil, "netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(etcNetns, stale+"-p1"), 0o755); err != nil {
		t.Fatal(err)
	}
	// What a crashed run left running in its lab.
	sleeper := nsCommand(context.Background(), stale, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = sleeper.Wait(); close(waited) }()

	// A namespace named like a lab with no record at all.
	rand.Read(b[:])
	orphan := "kwl-" + hex.EncodeToString(b[:])
	if _, err := run(nil, "netns", "add", orphan); err != nil {
		t.Fatal(err)
	}
	defer run(nil, "netns", "del", orphan)

	if err := RemoveStale(); err != nil {
		t.Fatalf("RemoveStale: %v", err)
	}
	for _, p := range []string{filepath.Join(netnsDir, stale), filepath.Join(etcNetns, stale+"-p1"), filepath.Join(stateDir, stale), filepath.Join(netnsDir, orphan)} {
		if exists(p) {
			t.Errorf("%s survived RemoveStale", p)
		}
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Error("the process in the stale lab survived")
	}
	if !exists(filepath.Join(netnsDir, live.Name())) || !ownerAlive(live.Name()) {
		t.Errorf("RemoveStale removed the live lab %s", live.Name())
	}
}

// TestEnter runs this test binary through Enter and checks what the child
// saw, its exit code, and that the lab and what ran in it are gone after.
func TestEnter(t *testing.T) {
	need(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(exe, "-test.run=^TestEnterChild$", "-test.v")
	cmd.Env = append(os.Environ(), enterEnv+"=3")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("enter, child, cleanup: %s", time.Since(start).Round(time.Millisecond))
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want code 3; output:\n%s", err, out.String())
	}
	m := regexp.MustCompile(`lab=(kwl-[0-9a-f]{8}) host=(\S+) pid=(\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the child's output did not stream through:\n%s", out.String())
	}
	for _, p := range []string{filepath.Join(netnsDir, m[1]), filepath.Join(netnsDir, m[2]), filepath.Join(etcNetns, m[2]), filepath.Join(stateDir, m[1])} {
		if exists(p) {
			t.Errorf("%s left after Enter", p)
		}
	}
	pid, _ := strconv.Atoi(m[3])
	if alive(pid) {
		t.Errorf("process %d the child left in its host survived Enter", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestEnterChild is TestEnter's child: it runs only inside the lab.
func TestEnterChild(t *testing.T) {
	if os.Getenv(enterEnv) == "" || !Inside() {
		t.Skip("the child of TestEnter")
	}
	l, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	ifc, err := net.InterfaceByName(Bridge)
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := ifc.Addrs()
	if len(addrs) == 0 || !strings.HasPrefix(addrs[0].String(), "10.77.0.1/16") {
		t.Errorf("%s addresses %v, want 10.77.0.1/16", Bridge, addrs)
	}
	// Only the lab's interfaces are here.
	ifcs, _ := net.Interfaces()
	if len(ifcs) != 2 {
		t.Errorf("interfaces in the lab: %v, want lo and %s", ifcs, Bridge)
	}
	h, err := l.AddHost("child")
	if err != nil {
		t.Fatal(err)
	}
	// Left running and unclosed on purpose, with an environment of its
	// own (as a pod's) and no Pdeathsig: Enter must find it and kill it.
	sleeper := h.Command(context.Background(), "sleep", "60")
	sleeper.Env = []string{"PATH=/usr/bin:/bin"}
	sleeper.SysProcAttr.Pdeathsig = 0
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	// The host answers from the lab: the child is really in it.
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(h.IP().String(), "1"), time.Second); err == nil {
		c.Close()
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial host from the lab: %v, want connection refused", err)
	}
	fmt.Printf("lab=%s host=%s pid=%d\n", l.Name(), h.Name(), sleeper.Process.Pid)
}
