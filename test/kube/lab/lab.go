// Package lab gives a test run its own network: a network namespace, the
// lab (kwl-<8 hex>), with a bridge kwbr0 at 10.77.0.1/16, and hosts below
// it — one network namespace each (<lab>-p<N>), joined to the bridge by a
// veth pair, with their own address, default route and resolv.conf. The
// kube suite runs the real Knative components and every pod on its own
// host because they all want the same ports (8080, 8012, 9090 …), and it
// runs the whole test binary inside the lab (Enter) so that nothing of the
// run touches the root namespace and a crashed run leaves nothing
// listening there.
//
// Everything is done with iproute2's `ip` as root; iptables is not needed.
// Each lab records its creator (PID and start time) in
// /run/kwhisk-lab/<lab>/owner before the namespace exists, so a later run
// can tell a lab whose creator is gone from one in use by a concurrent run
// and remove only the former (RemoveStale).
//
// Network namespaces are flat in the kernel: "below" means that a host's
// only link is a veth whose peer sits on the lab's bridge. When the test
// binary runs inside the lab, `ip netns exec` has given it a mount
// namespace of its own, so the hosts it adds are named in /run/netns only
// there (and in the processes it starts); from the root namespace their
// files look empty. Cleanup therefore finds a lab's processes by an
// environment variable every Command sets (and Enter's child passes on),
// not only by the namespaces it can still name.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bridge is the name of the lab's bridge, in the lab's namespace.
const Bridge = "kwbr0"

// The lab's network: the bridge holds Gateway; hosts get addresses from
// 10.77.1.1 on, never reused within a lab (a reused address would leave
// stale neighbour entries in long-lived clients such as the activator).
var (
	Gateway = net.IPv4(10, 77, 0, 1).To4()
	Network = &net.IPNet{IP: net.IPv4(10, 77, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}
)

// maxHosts is how many addresses 10.77.1.1 … 10.77.255.254 hold.
const maxHosts = 255 * 254

// envMarker names the environment variable that tells a re-executed
// process which lab it runs in.
const envMarker = "KWHISK_LAB"

// Directories iproute2 and this package use.
var (
	netnsDir = "/run/netns"
	etcNetns = "/etc/netns"
	stateDir = "/run/kwhisk-lab"
)

// Lab is a network namespace with the bridge the hosts join.
type Lab struct {
	name  string
	owned bool // Create made it: Close removes the namespace too

	mu     sync.Mutex
	next   int // hosts made so far; the next host is next+1
	hosts  map[*Host]bool
	closed bool
}

// Available says why labs cannot be made here (nil when they can): the
// package needs root and a working `ip netns`.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("lab: network namespaces need root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("lab: iproute2's ip not found: %w", err)
	}
	if out, err := exec.Command(ip, "netns", "list").CombinedOutput(); err != nil {
		return fmt.Errorf("lab: ip netns list: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Create makes a fresh lab from the calling process's namespace (the root
// one, normally): the namespace, loopback up, the bridge with Gateway. It
// first removes stale labs (RemoveStale). Close removes everything.
func Create() (*Lab, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := RemoveStale(); err != nil {
		return nil, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	l := &Lab{name: "kwl-" + hex.EncodeToString(b[:]), owned: true, hosts: map[*Host]bool{}}
	// The owner record comes before the namespace, so a namespace without
	// a record is never one being made right now.
	if err := writeOwner(l.name); err != nil {
		return nil, err
	}
	if err := l.create(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) create() error {
	// The lab's own resolver is the one the harness runs on its bridge
	// (cluster DNS): a process Enter starts there resolves cluster-local
	// names and nothing else. No search list: the harness names hosts
	// fully.
	dir := filepath.Join(etcNetns, l.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+Gateway.String()+"\noptions ndots:1\n"), 0o644); err != nil {
		return err
	}
	if _, err := run(nil, "netns", "add", l.name); err != nil {
		return err
	}
	return batch(l.name,
		"link set lo up",
		"link add "+Bridge+" type bridge",
		"addr add "+Gateway.String()+"/16 dev "+Bridge,
		"link set "+Bridge+" up",
	)
}

var (
	current     *Lab
	currentErr  error
	currentOnce sync.Once
)

// Current is the lab this process runs in (Inside is true), set up by the
// Enter that started it. Its Close removes the hosts made through it; the
// lab itself is removed by Enter once the process ends.
func Current() (*Lab, error) {
	currentOnce.Do(func() {
		name := os.Getenv(envMarker)
		if name == "" {
			currentErr = errors.New("lab: not inside a lab (use lab.Enter)")
			return
		}
		if ifc, err := net.InterfaceByName(Bridge); err != nil || ifc.Flags&net.FlagUp == 0 {
			currentErr = fmt.Errorf("lab: %s=%s but no bridge %s is up here", envMarker, name, Bridge)
			return
		}
		current = &Lab{name: name, hosts: map[*Host]bool{}}
	})
	return current, currentErr
}

// Inside reports whether this process was started inside a lab by Enter.
func Inside() bool { return os.Getenv(envMarker) != "" }

// Name is the lab's network namespace.
func (l *Lab) Name() string { return l.name }

// IP is the lab's address on the bridge: the hosts' gateway and where
// the lab's own servers (API server, DNS, ingress) are reached from hosts.
func (l *Lab) IP() net.IP { return Gateway }

// Command is a command that runs in the lab's namespace, in a process
// group of its own that is killed when ctx ends. Inside the lab a plain
// exec.Command already runs there; this is for a lab made with Create.
func (l *Lab) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return nsCommand(ctx, l.name, name, args...)
}

// AddHost makes a host: namespace <lab>-p<N>, the veth pair (eth0 in the
// host, vp<N> on the bridge), the next address with a /16, a default
// route via Gateway, loopback up, and /etc/netns/<ns>/resolv.conf naming
// Gateway as the nameserver with the given search domains (and ndots:5,
// as in a pod) — `ip netns exec`, and so Command, mounts it over
// /etc/resolv.conf. label is free text for error messages (a pod's name).
func (l *Lab) AddHost(label string, search ...string) (*Host, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab: closed")
	}
	if l.next >= maxHosts {
		l.mu.Unlock()
		return nil, errors.New("lab: out of addresses")
	}
	l.next++
	n := l.next
	h := &Host{lab: l, label: label, n: n, ns: l.name + "-p" + strconv.Itoa(n), veth: "vp" + strconv.Itoa(n)}
	h.ip = net.IPv4(10, 77, byte(1+(n-1)/254), byte(1+(n-1)%254)).To4()
	l.hosts[h] = true
	l.mu.Unlock()
	if err := h.create(search); err != nil {
		h.Close()
		return nil, fmt.Errorf("lab: host for %s: %w", label, err)
	}
	return h, nil
}

// Close removes the lab's hosts (killing what still runs in them) and, for
// a lab made with Create, the lab itself and its records.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	hosts := make([]*Host, 0, len(l.hosts))
	for h := range l.hosts {
		hosts = append(hosts, h)
	}
	l.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		errs = append(errs, h.Close())
	}
	if l.owned {
		errs = append(errs, remove(l.name))
	}
	return errors.Join(errs...)
}

// RemoveStale removes labs whose creating process is gone: every process
// still in one of their namespaces is killed, then the namespaces, their
// /etc/netns entries and records go. Entries named like a lab that have
// no record at all are removed too (a record always precedes its lab).
func RemoveStale() error {
	var errs []error
	live := map[string]bool{}
	records, _ := os.ReadDir(stateDir)
	for _, e := range records {
		if !isLabName(e.Name()) {
			continue
		}
		if ownerAlive(e.Name()) {
			live[e.Name()] = true
			continue
		}
		errs = append(errs, remove(e.Name()))
	}
	for _, dir := range []string{netnsDir, etcNetns} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			lab, _, _ := strings.Cut(e.Name(), "-p") // kwl-<hex> or kwl-<hex>-p<N>
			if !isLabName(lab) || live[lab] {
				continue
			}
			if _, err := os.Stat(filepath.Join(stateDir, lab)); err == nil {
				continue // recorded: handled above, or made since
			}
			errs = append(errs, remove(lab))
		}
	}
	return errors.Join(errs...)
}

// isLabName matches kwl-<8 hex>.
func isLabName(s string) bool {
	h, ok := strings.CutPrefix(s, "kwl-")
	if !ok || len(h) != 8 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// remove kills the processes of lab (killLab), deletes every namespace
// and /etc/netns entry named lab or lab-*, and the lab's record.
func remove(lab string) error {
	var errs []error
	killLab(lab)
	for _, dir := range []string{netnsDir, etcNetns} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != lab && !strings.HasPrefix(e.Name(), lab+"-") {
				continue
			}
			if dir == netnsDir {
				if _, err := run(nil, "netns", "del", e.Name()); err != nil {
					errs = append(errs, err)
				}
			} else if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(stateDir, lab)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeOwner records this process as lab's creator.
func writeOwner(lab string) error {
	dir := filepath.Join(stateDir, lab)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pid := os.Getpid()
	start, err := startTime(pid)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprintf("%d %s\n", pid, start)), 0o644)
}

// ownerAlive reports whether lab's creator still runs. A record being
// written right now (no owner file yet, dir very young) counts as alive.
func ownerAlive(lab string) bool {
	dir := filepath.Join(stateDir, lab)
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		st, serr := os.Stat(dir)
		return serr == nil && time.Since(st.ModTime()) < 10*time.Second
	}
	var pid int
	var start string
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil {
		return false
	}
	now, err := startTime(pid)
	return err == nil && now == start
}

// startTime is field 22 of /proc/<pid>/stat, which tells a process from a
// later one that reused its PID.
func startTime(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", fmt.Errorf("lab: odd /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", fmt.Errorf("lab: short /proc/%d/stat", pid)
	}
	return f[19], nil // fields from 3 on; 22 is the 20th
}

// nsMarker names the environment variable Command adds to every process
// it starts: the namespace it runs in. Cleanup finds a lab's processes by
// it (and by envMarker, which the whole tree under Enter inherits), since
// namespace inode numbers are reused as soon as a namespace is freed and
// so cannot tell a crashed run's processes from a concurrent run's.
const nsMarker = "KWHISK_LAB_NS"

// killProcs SIGKILLs every other process that belongs (mine gets its
// network namespace's inode and its environment and command line, NUL
// separated) and waits briefly for them to go, so their namespaces can
// be freed. It scans again while it finds more (a process may fork
// between the scan and the kill), and until two scans in a row, a few
// milliseconds apart, find nothing: a process in the middle of an exec
// (ip → env → the command) may show neither its marker nor its namespace
// for a moment, which on a loaded machine one scan can fall into.
func killProcs(mine func(netns uint64, environ, cmdline []string) bool) {
	self := os.Getpid()
	killed := map[int]bool{}
	for round, quiet := 0, 0; round < 50 && quiet < 2; round++ {
		if quiet > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		found := false
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			pid, err := strconv.Atoi(p.Name())
			if err != nil || pid == self || killed[pid] {
				continue
			}
			var ino uint64
			if link, err := os.Readlink("/proc/" + p.Name() + "/ns/net"); err == nil {
				n, _ := strings.CutPrefix(link, "net:[")
				ino, _ = strconv.ParseUint(strings.TrimSuffix(n, "]"), 10, 64)
			}
			env, _ := os.ReadFile("/proc/" + p.Name() + "/environ")
			cmdline, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
			if !mine(ino, strings.Split(string(env), "\x00"), strings.Split(string(cmdline), "\x00")) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed[pid], found = true, true
			}
		}
		if found {
			quiet = 0
		} else {
			quiet++
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for pid := range killed {
		for time.Now().Before(deadline) {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if err != nil || bytes.Contains(st, []byte(") Z ")) {
				break // reaped, or a zombie, which holds no namespace
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// marked reports whether a process's environment or command line holds
// one of the given NAME=value words. The command line matters while
// `ip netns exec … env NAME=value cmd` has not yet exec'd cmd.
func marked(environ, cmdline []string, is func(kv string) bool) bool {
	for _, kv := range environ {
		if is(kv) {
			return true
		}
	}
	for _, kv := range cmdline {
		if is(kv) {
			return true
		}
	}
	return false
}

// mountedNetns is the inode of the namespace mounted at /run/netns/<ns>
// in this mount namespace (0 if none: a host named only inside a lab's
// mount namespace is an empty file elsewhere). A mounted namespace is
// held by its mount, so its inode cannot have been reused.
func mountedNetns(ns string) uint64 {
	path := filepath.Join(netnsDir, ns)
	var fs syscall.Statfs_t
	var st syscall.Stat_t
	const nsfsMagic = 0x6e736673
	if syscall.Statfs(path, &fs) != nil || fs.Type != nsfsMagic || syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Ino
}

// killLab kills what runs in lab: processes marked as started in one of
// its namespaces or under Enter's child, and any process in one of its
// namespaces still mounted here.
func killLab(lab string) {
	inodes := map[uint64]bool{}
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if e.Name() == lab || strings.HasPrefix(e.Name(), lab+"-") {
			if ino := mountedNetns(e.Name()); ino != 0 {
				inodes[ino] = true
			}
		}
	}
	killProcs(func(netns uint64, environ, cmdline []string) bool {
		return inodes[netns] || marked(environ, cmdline, func(kv string) bool {
			if kv == envMarker+"="+lab {
				return true
			}
			ns, ok := strings.CutPrefix(kv, nsMarker+"=")
			return ok && (ns == lab || strings.HasPrefix(ns, lab+"-"))
		})
	})
}

// ipPath is iproute2's ip, found once.
var ipPath = sync.OnceValue(func() string {
	if p, err := exec.LookPath("ip"); err == nil {
		return p
	}
	return "/usr/sbin/ip"
})

// run runs ip with args (stdin from in, if not nil) and returns its
// output, with ip's message in the error.
func run(in []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(ipPath(), args...)
	if in != nil {
		cmd.Stdin = bytes.NewReader(in)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// batch runs ip commands in namespace ns in one ip process.
func batch(ns string, cmds ...string) error {
	_, err := run([]byte(strings.Join(cmds, "\n")+"\n"), "-n", ns, "-batch", "-")
	return err
}

// nsCommand runs name in namespace ns through `ip netns exec` (which also
// applies /etc/netns/<ns>/) and env(1), which adds nsMarker to whatever
// environment the caller sets and execs name, so the process is name's
// own. It leads a new process group: ending ctx kills the whole group;
// so does the test binary's death (Pdeathsig), so a crashed run leaves
// no servers behind.
func nsCommand(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", ns, envPath(), nsMarker + "=" + ns, name}, args...)
	cmd := exec.CommandContext(ctx, ipPath(), argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// envPath is env(1), found once.
var envPath = sync.OnceValue(func() string {
	if p, err := exec.LookPath("env"); err == nil {
		return p
	}
	return "/usr/bin/env"
})
