package local

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/whisk"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// MsgMemoryExhausted is the developer error of an activation that ran out
// of memory, as OpenWhisk words it.
const MsgMemoryExhausted = actionloop.MsgMemoryExhausted

// Memory limits, in the order they are tried:
//
//   - cgroup v2, when the gateway's cgroup offers the memory controller and
//     lets it be delegated: one child cgroup per instance with memory.max
//     set to the action's limit and no swap; the launcher's shell prelude
//     moves itself into it before exec, so everything the action starts
//     is counted and an OOM kill shows in memory.events;
//   - otherwise rlimits set by the same prelude: RLIMIT_DATA at the limit
//     for Python; for Node.js, whose V8 reserves far more address space
//     than it uses (RLIMIT_AS would break it), V8's old space is capped at
//     the limit with --max-old-space-size and RLIMIT_DATA leaves room for
//     the rest of the runtime.
//
// Either way Node.js gets --max-old-space-size, so V8 fails cleanly before
// the kernel steps in.
const (
	memoryOff = iota
	memoryRlimit
	memoryCgroup
)

// limiter applies actions' memory limits to their launchers.
type limiter struct {
	mode   int
	parent string // cgroup v2 directory holding one child per instance
}

// cgroupSeq numbers instance cgroups; the platforms of one process share
// their parent.
var cgroupSeq atomic.Uint64

// gatewayLeaf is the cgroup the gateway moves into when its own has to
// hand the memory controller on.
const gatewayLeaf = "kwhisk-gateway"

// memLimit is one instance's memory limit.
type memLimit struct {
	cgroup string // its cgroup directory; "" with rlimits
}

// newLimiter picks the best mechanism the host allows; off disables
// memory limits.
func newLimiter(off bool) *limiter {
	if off {
		return &limiter{mode: memoryOff}
	}
	if dir, err := delegateCgroup("/proc/self/mountinfo", "/proc/self/cgroup", os.Getpid()); err == nil {
		return &limiter{mode: memoryCgroup, parent: dir}
	}
	return &limiter{mode: memoryRlimit}
}

// Mode names the mechanism, for logs and docs: "cgroup2", "rlimit" or
// "off".
func (m *limiter) Mode() string {
	switch m.mode {
	case memoryCgroup:
		return "cgroup2"
	case memoryRlimit:
		return "rlimit"
	}
	return "off"
}

// delegateCgroup finds the gateway's cgroup v2 directory from the mount
// table and /proc/self/cgroup, makes sure it offers the memory controller
// and creates a child that hands it on to per-instance cgroups.
func delegateCgroup(mountinfo, selfCgroup string, pid int) (string, error) {
	mount, err := cgroup2Mount(mountinfo)
	if err != nil {
		return "", err
	}
	own, err := os.ReadFile(selfCgroup)
	if err != nil {
		return "", err
	}
	var rel string
	found := false
	for line := range strings.SplitSeq(string(own), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel, found = p, true
		}
	}
	if !found {
		return "", errors.New("no cgroup v2 membership")
	}
	base := filepath.Join(mount, filepath.Clean("/"+rel))
	if filepath.Base(base) == gatewayLeaf {
		base = filepath.Dir(base) // moved there by an earlier platform of this process
	}
	ctrl, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return "", err
	}
	if !hasWord(string(ctrl), "memory") {
		return "", errors.New("the memory controller is not available")
	}
	if err := writeFile(filepath.Join(base, "cgroup.subtree_control"), "+memory"); err != nil {
		if !errors.Is(err, syscall.EBUSY) {
			return "", err
		}
		// A cgroup with processes cannot hand controllers on. Alone in
		// its cgroup (a systemd service with Delegate=yes, a container),
		// the gateway moves into a leaf of its own, as systemd asks of
		// delegated services.
		procs, rerr := os.ReadFile(filepath.Join(base, "cgroup.procs"))
		if rerr != nil || strings.TrimSpace(string(procs)) != strconv.Itoa(pid) {
			return "", errors.New("the gateway's cgroup holds other processes")
		}
		leaf := filepath.Join(base, gatewayLeaf)
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return "", err
		}
		if err := writeFile(filepath.Join(base, "cgroup.subtree_control"), "+memory"); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(base, "kwhisk-"+strconv.Itoa(pid))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+memory"); err != nil {
		_ = os.Remove(dir) // empty; the error above is what matters
		return "", err
	}
	return dir, nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted.
func cgroup2Mount(mountinfo string) (string, error) {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// "<id> <parent> <major:minor> <root> <mount point> <options> [<optional>...] - <fstype> <source> <super options>"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		fields := strings.Fields(pre)
		if len(fields) >= 5 {
			return fields[4], nil
		}
	}
	return "", errors.New("no cgroup v2 mount")
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644) // cgroupfs refuses to create files
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// limit returns l with a's memory limit applied, and the limit to release
// when the instance stops. mem is how the launcher's family is limited
// (nil: it is not).
func (m *limiter) limit(l *actionloop.Launcher, mem *family.Memory, memoryMB int) (*actionloop.Launcher, *memLimit, error) {
	if m.mode == memoryOff || memoryMB <= 0 || mem == nil {
		return l, nil, nil
	}
	out := *l
	if mem.Env != nil {
		out.Env = append(append([]string(nil), l.Env...), mem.Env(memoryMB)...)
	}
	lim := &memLimit{}
	var prelude []string
	switch m.mode {
	case memoryCgroup:
		dir := filepath.Join(m.parent, "i"+strconv.FormatUint(cgroupSeq.Add(1), 10))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("memory cgroup: %w", err)
		}
		lim.cgroup = dir
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.Itoa(memoryMB<<20)); err != nil {
			_ = lim.release() // the error above is what matters
			return nil, nil, fmt.Errorf("memory cgroup: %w", err)
		}
		_ = writeFile(filepath.Join(dir, "memory.swap.max"), "0") // absent without swap accounting
		prelude = []string{"/bin/sh", "-c", `echo $$ >"$0/cgroup.procs" && exec "$@"`, dir}
	case memoryRlimit:
		kb := (memoryMB + mem.DataHeadroomMB) << 10
		prelude = []string{"/bin/sh", "-c", "ulimit -d " + strconv.Itoa(kb) + ` && exec "$@"`, "sh"}
	}
	out.Command = append(prelude, l.Command...)
	return &out, lim, nil
}

// oomKilled reports whether the kernel killed a process of the limit's
// cgroup for lack of memory.
func (lim *memLimit) oomKilled() bool {
	if lim == nil || lim.cgroup == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(lim.cgroup, "memory.events"))
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok && n != "0" {
			return true
		}
	}
	return false
}

// release kills whatever is left in the limit's cgroup and removes it.
func (lim *memLimit) release() error {
	if lim == nil || lim.cgroup == "" {
		return nil
	}
	_ = writeFile(filepath.Join(lim.cgroup, "cgroup.kill"), "1") // absent before Linux 5.14
	var err error
	for range 50 {
		if err = os.Remove(lim.cgroup); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(2 * time.Millisecond) // the killed processes are on their way out
	}
	return fmt.Errorf("remove memory cgroup: %w", err)
}

// close removes the cgroup that held the instances' cgroups.
func (m *limiter) close() error {
	if m.mode != memoryCgroup {
		return nil
	}
	err := os.Remove(m.parent)
	if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.ENOTEMPTY) {
		return nil // gone, or another platform of this process still uses it
	}
	return fmt.Errorf("remove memory cgroup: %w", err)
}

// exhausted reports whether a developer error came from running out of
// memory: an OOM kill in the instance's cgroup, or the runtime giving up
// (actionloop.OutOfMemory).
func exhausted(resp whisk.Response, logs []string, lim *memLimit) bool {
	if resp.StatusCode != whisk.StatusDeveloperError {
		return false
	}
	return lim.oomKilled() || actionloop.OutOfMemory(resp, logs)
}
