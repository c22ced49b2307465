package podrunner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is one container of a pod: its process, restarted per the
// pod's restart policy, and the state its status reports. The state
// fields are guarded by the pod worker's mutex.
type container struct {
	w    *podWorker
	spec *v1.Container

	state, last    v1.ContainerState
	restarts       int32
	ready, started bool
	created        bool // a process was made at least once: the next is a restart
	id, imageID    string
	proc           *exec.Cmd
}

func newContainer(w *podWorker, spec *v1.Container) *container {
	return &container{w: w, spec: spec, state: waiting("ContainerCreating", "")}
}

func waiting(reason, msg string) v1.ContainerState {
	return v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

// set changes the container's state under the pod's lock and marks the
// status changed.
func (c *container) set(f func()) {
	c.w.mu.Lock()
	f()
	c.w.mu.Unlock()
	c.w.changed()
}

// status is the container's status; called with the pod's lock held.
func (c *container) status() v1.ContainerStatus {
	started := c.started
	return v1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageID, ContainerID: c.id,
		State: c.state, LastTerminationState: c.last,
		Ready: c.ready, Started: &started, RestartCount: c.restarts,
	}
}

// signal sends sig to the running process's group; called with the
// pod's lock held.
func (c *container) signal(sig syscall.Signal) {
	if c.proc != nil {
		_ = syscall.Kill(-c.proc.Process.Pid, sig)
	}
}

// pause waits d unless the pod stops first; false if it did.
func (c *container) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.w.stoppedCh():
		return false
	case <-t.C:
		return true
	}
}

func (c *container) run(ctx context.Context) {
	img, ok := c.w.r.image(c.spec.Image)
	if !ok {
		msg := fmt.Sprintf("image %q is not known to the kwhisk test pod runner", c.spec.Image)
		c.set(func() { c.state = waiting("ErrImagePull", msg) })
		c.w.logf("%s: %s", c.spec.Name, msg)
		return
	}
	if img.StartDelay > 0 && !c.pause(ctx, img.StartDelay) {
		return
	}
	for fails := 0; ; {
		ran, exited := c.once(ctx, img)
		if !exited {
			return
		}
		c.w.mu.Lock()
		stopping := c.w.stopping
		t := c.state.Terminated
		c.w.mu.Unlock()
		if stopping || ctx.Err() != nil {
			return
		}
		if t != nil { // the process ran (or failed to start)
			switch policy := c.w.pod().Spec.RestartPolicy; {
			case policy == v1.RestartPolicyNever, policy == v1.RestartPolicyOnFailure && t.ExitCode == 0:
				return
			}
		}
		if ran >= 2*c.w.r.cfg.MaxBackoff {
			fails = 0
		}
		delay := min(time.Second<<min(fails, 16), c.w.r.cfg.MaxBackoff)
		fails++
		if t != nil {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.spec.Name, c.w.name, c.w.namespace, c.w.uid)
			c.set(func() { c.last, c.state = c.state, waiting("CrashLoopBackOff", msg) })
		}
		if !c.pause(ctx, delay) {
			return
		}
	}
}

// once makes and runs one process of the container until it exits.
// exited is false when it did not start because the pod is stopping;
// otherwise the state is Terminated, or Waiting when the container's
// configuration (env) could not be resolved. ran is how long it ran.
func (c *container) once(ctx context.Context, img Image) (ran time.Duration, exited bool) {
	argv, env, dir, err := c.prepare(ctx, img)
	if err != nil {
		c.set(func() { c.state = waiting("CreateContainerConfigError", err.Error()) })
		c.w.logf("%s: %v", c.spec.Name, err)
		return 0, true
	}
	log, err := os.OpenFile(c.w.r.LogPath(c.w.namespace, c.w.name, c.spec.Name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		c.set(func() { c.state = waiting("CreateContainerError", err.Error()) })
		return 0, true
	}
	defer log.Close()
	cmd := c.w.host.Command(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, log, log

	c.w.mu.Lock()
	if c.w.stopping {
		c.w.mu.Unlock()
		return 0, false
	}
	if c.created {
		c.restarts++
	}
	c.created = true
	c.id = fmt.Sprintf("kwhisk://%s-%s-%d", c.w.uid, c.spec.Name, c.restarts)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		now := metav1.Now()
		c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
			ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now, ContainerID: c.id,
		}}
		c.w.mu.Unlock()
		c.w.changed()
		c.w.logf("%s: start %v: %v", c.spec.Name, argv, err)
		return 0, true
	}
	startedAt := metav1.NewTime(start)
	c.proc, c.imageID = cmd, c.spec.Image
	c.state = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: startedAt}}
	c.started = c.spec.StartupProbe == nil
	c.ready = c.spec.StartupProbe == nil && c.spec.ReadinessProbe == nil
	c.w.mu.Unlock()
	c.w.changed()
	c.w.logf("%s: started pid %d: %v", c.spec.Name, cmd.Process.Pid, argv)

	probeCtx, stopProbes := context.WithCancel(ctx)
	go c.probes(probeCtx, cmd, env, dir)
	_ = cmd.Wait()
	stopProbes()

	code, signal, reason := int32(-1), int32(0), "Error"
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			code = int32(ws.ExitStatus())
		case ws.Signaled():
			signal = int32(ws.Signal())
			code = 128 + signal
		}
	}
	if code == 0 {
		reason = "Completed"
	}
	c.set(func() {
		c.proc, c.ready, c.started = nil, false, false
		c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
			ExitCode: code, Signal: signal, Reason: reason,
			StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: c.id,
		}}
	})
	c.w.logf("%s: pid %d exited: code %d", c.spec.Name, cmd.Process.Pid, code)
	return time.Since(start), true
}

// kill ends cmd, if it is still the container's process, as a failed
// liveness or startup probe does: SIGTERM, SIGKILL after the grace period.
func (c *container) kill(ctx context.Context, cmd *exec.Cmd, probe *v1.Probe) {
	grace := c.w.grace()
	if probe.TerminationGracePeriodSeconds != nil {
		grace = min(time.Duration(*probe.TerminationGracePeriodSeconds)*time.Second, c.w.r.cfg.MaxGrace)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-ctx.Done(): // the process exited (or the pod stops)
	case <-time.After(grace):
		c.w.mu.Lock()
		if c.proc == cmd {
			c.signal(syscall.SIGKILL)
		}
		c.w.mu.Unlock()
	}
}

// image is what an image name maps to.
func (r *Runner) image(name string) (Image, bool) {
	if img, ok := r.cfg.Images[name]; ok {
		return img, true
	}
	if r.cfg.Resolve != nil {
		return r.cfg.Resolve(name)
	}
	return Image{}, false
}
