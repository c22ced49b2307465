package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Host is a network namespace below a lab: what a pod (or one Knative
// component) gets instead of a container's network.
type Host struct {
	lab   *Lab
	label string
	n     int
	ns    string // network namespace, <lab>-p<n>
	veth  string // the pair's end on the bridge, in the lab
	ip    net.IP

	once sync.Once
	err  error
}

// Name is the host's network namespace.
func (h *Host) Name() string { return h.ns }

// Label is the text AddHost was given.
func (h *Host) Label() string { return h.label }

// IP is the host's address on the lab's bridge.
func (h *Host) IP() net.IP { return h.ip }

// Command is a command that runs in the host's namespace, through
// `ip netns exec`, so the host's /etc/resolv.conf applies. It leads a
// process group of its own: ending ctx kills the group (and the process
// may signal the group, -Process.Pid, to stop it gently). `ip netns exec`
// execs name, so Process.Pid is name's process and its wait status is
// name's. Set Env, Dir, Stdout … on the result as with exec.Command;
// the process also gets KWHISK_LAB_NS=<the host's namespace>, by which
// Close and a later run's cleanup find it and its children.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return nsCommand(ctx, h.ns, name, args...)
}

func (h *Host) create(search []string) error {
	// resolv.conf first: a process started right after AddHost must
	// never see the root namespace's resolver.
	conf := "nameserver " + Gateway.String() + "\n"
	if len(search) > 0 {
		conf += "search " + strings.Join(search, " ") + "\n"
	}
	conf += "options ndots:5\n"
	dir := filepath.Join(etcNetns, h.ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	if _, err := run(nil, "netns", "add", h.ns); err != nil {
		return err
	}
	if err := batch(h.lab.name,
		fmt.Sprintf("link add %s type veth peer name eth0 netns %s", h.veth, h.ns),
		fmt.Sprintf("link set %s master %s up", h.veth, Bridge),
	); err != nil {
		return err
	}
	return batch(h.ns,
		"link set lo up",
		fmt.Sprintf("addr add %s/16 dev eth0", h.ip),
		"link set eth0 up",
		"route add default via "+Gateway.String(),
	)
}

// Close kills what still runs in the host and removes its namespace, its
// veth pair and its /etc/netns entry. The address is not given back.
func (h *Host) Close() error {
	h.once.Do(func() {
		var errs []error
		ino := mountedNetns(h.ns)
		killProcs(func(netns uint64, environ, cmdline []string) bool {
			return (ino != 0 && netns == ino) || marked(environ, cmdline, func(kv string) bool { return kv == nsMarker+"="+h.ns })
		})
		// The veth goes with the namespace once nothing holds it; deleting
		// it now frees the bridge port at once.
		if _, err := run(nil, "-n", h.lab.name, "link", "del", h.veth); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
		if _, err := os.Stat(filepath.Join(netnsDir, h.ns)); err == nil {
			if _, err := run(nil, "netns", "del", h.ns); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.RemoveAll(filepath.Join(etcNetns, h.ns)); err != nil {
			errs = append(errs, err)
		}
		h.lab.mu.Lock()
		delete(h.lab.hosts, h)
		h.lab.mu.Unlock()
		h.err = errors.Join(errs...)
	})
	return h.err
}
