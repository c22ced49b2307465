package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kwhisk/kwhisk/test/kube/lab"
)

// podWorker runs one pod: its host, its containers, its status, its end.
type podWorker struct {
	r         *Runner
	uid       types.UID
	namespace string
	name      string

	notify   chan struct{} // a newer pod object is in latest
	gone     chan struct{} // the API object was deleted
	goneOnce sync.Once
	dirty    chan struct{} // the status may have changed

	mu         sync.Mutex
	latest     *v1.Pod
	host       *lab.Host
	dir        string // the pod's working directories
	startTime  metav1.Time
	containers []*container
	refused    string // why the pod is not run (init containers)
	conds      map[v1.PodConditionType]v1.PodCondition
	stopping   bool          // terminating: no container (re)starts
	stopped    chan struct{} // closed as stopping becomes true
}

// newPodWorker makes the worker of pod, holding it as its newest object
// before its run starts.
func newPodWorker(r *Runner, pod *v1.Pod) *podWorker {
	return &podWorker{
		r: r, uid: pod.UID, namespace: pod.Namespace, name: pod.Name, latest: pod,
		notify: make(chan struct{}, 1), gone: make(chan struct{}), dirty: make(chan struct{}, 1),
		conds: map[v1.PodConditionType]v1.PodCondition{}, stopped: make(chan struct{}),
	}
}

// update hands the worker the newest pod object.
func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.latest = pod
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *podWorker) objectGone() { w.goneOnce.Do(func() { close(w.gone) }) }

// changed marks the status for the status loop.
func (w *podWorker) changed() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

func (w *podWorker) pod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

func (w *podWorker) logf(format string, args ...any) {
	w.r.log.printf("%s/%s: "+format, append([]any{w.namespace, w.name}, args...)...)
}

func (w *podWorker) run(ctx context.Context) {
	pod := w.pod()
	if pod.DeletionTimestamp != nil {
		// Never started here: nothing to stop.
		w.deleteObject(ctx)
		return
	}
	w.mu.Lock()
	w.startTime = metav1.Now()
	if len(pod.Spec.InitContainers) > 0 {
		w.refused = "init containers are not supported by the kwhisk test pod runner"
	}
	w.mu.Unlock()

	statusCtx, stopStatus := context.WithCancel(ctx)
	statusDone := make(chan struct{})
	go func() { w.statusLoop(statusCtx); close(statusDone) }()
	defer func() { stopStatus(); <-statusDone }()

	// Containers outlive ctx by the grace period: stop ends them, kill
	// is its SIGKILL.
	runCtx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	var wg sync.WaitGroup
	if w.refused == "" {
		if !w.makeHost(ctx) {
			return
		}
		w.mu.Lock()
		for i := range pod.Spec.Containers {
			c := newContainer(w, &pod.Spec.Containers[i])
			w.containers = append(w.containers, c)
		}
		w.mu.Unlock()
		for _, c := range w.containers {
			wg.Add(1)
			go func() { defer wg.Done(); c.run(runCtx) }()
		}
	}
	w.changed()

	deleteAfter := true
wait:
	for {
		select {
		case <-ctx.Done():
			deleteAfter = false
			break wait
		case <-w.gone:
			deleteAfter = false
			break wait
		case <-w.notify:
			if w.pod().DeletionTimestamp != nil {
				break wait
			}
			w.changed() // others' conditions (readiness gates) may have moved
		}
	}
	stopStatus()
	<-statusDone
	grace := 2 * time.Second
	if ctx.Err() == nil {
		grace = w.grace()
	}
	w.stop(grace, kill, &wg)
	if w.host != nil {
		if err := w.host.Close(); err != nil {
			w.logf("remove host: %v", err)
		}
	}
	if deleteAfter {
		w.deleteObject(ctx)
	}
	w.logf("done")
}

// makeHost gives the pod its host, retrying until it works or the pod
// ends; false if it ended first.
func (w *podWorker) makeHost(ctx context.Context) bool {
	search := []string{w.namespace + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
	dir := filepath.Join(w.r.cfg.WorkDir, fmt.Sprintf("%s_%s_%s", w.namespace, w.name, shortUID(w.uid)))
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		h, err := w.r.cfg.Lab.AddHost(w.namespace+"/"+w.name, search...)
		if err == nil {
			w.mu.Lock()
			w.host, w.dir = h, dir
			w.mu.Unlock()
			w.logf("host %s at %s", h.Name(), h.IP())
			return true
		}
		w.logf("host: %v", err)
		select {
		case <-ctx.Done():
			return false
		case <-w.gone:
			return false
		case <-time.After(wait):
		}
	}
}

func (w *podWorker) stoppedCh() <-chan struct{} { return w.stopped }

// grace is the pod's termination grace period, capped.
func (w *podWorker) grace() time.Duration {
	pod := w.pod()
	secs := int64(v1.DefaultTerminationGracePeriodSeconds)
	if pod.DeletionGracePeriodSeconds != nil {
		secs = *pod.DeletionGracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		secs = *pod.Spec.TerminationGracePeriodSeconds
	}
	return min(time.Duration(secs)*time.Second, w.r.cfg.MaxGrace)
}

// stop ends every container: no more (re)starts; each container's
// preStop hook, then SIGTERM to its process group (per container, at the
// same time, as a kubelet does); SIGKILL (kill) for what is left after
// grace, which the hooks count against. Knative's user container waits
// in its preStop hook until queue-proxy has drained, so the runtime
// answers requests routed to the pod while it goes.
func (w *podWorker) stop(grace time.Duration, kill context.CancelFunc, wg *sync.WaitGroup) {
	w.mu.Lock()
	w.stopping = true
	close(w.stopped)
	hookCtx, cancelHooks := context.WithTimeout(context.Background(), grace)
	defer cancelHooks()
	for _, c := range w.containers {
		running := c.proc != nil
		go func() {
			if running {
				c.preStop(hookCtx)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			c.signal(syscall.SIGTERM)
		}()
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		w.logf("grace period %s over: SIGKILL", grace)
		kill()
		<-done
	}
}

// deleteObject deletes the pod with grace 0, as a kubelet does once its
// containers are gone.
func (w *podWorker) deleteObject(ctx context.Context) {
	zero := int64(0)
	err := w.r.client.CoreV1().Pods(w.namespace).Delete(ctx, w.name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &w.uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.logf("delete: %v", err)
	}
}

// statusLoop writes the status whenever it differs from what it last
// wrote, coalescing changes that come together.
func (w *podWorker) statusLoop(ctx context.Context) {
	var written *v1.PodStatus
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		// Containers starting together, a probe right after a start: one write.
		if sleep(ctx, 20*time.Millisecond) != nil {
			return
		}
		select {
		case <-w.dirty:
		default:
		}
		st := w.status()
		if written != nil && equality.Semantic.DeepEqual(st, *written) {
			continue
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": w.uid}, // a precondition: never another pod of this name
			"status":   st,
		})
		if err != nil {
			w.logf("status: %v", err)
			continue
		}
		_, err = w.r.client.CoreV1().Pods(w.namespace).Patch(ctx, w.name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
		switch {
		case err == nil:
			written = &st
		case apierrors.IsNotFound(err) || ctx.Err() != nil:
			return
		case apierrors.IsInvalid(err):
			// The UID precondition (a new pod of the same name) or a
			// status the API refuses: writing again will not help.
			w.logf("status: %v (giving up)", err)
			return
		default:
			w.logf("status: %v (retrying)", err)
			if sleep(ctx, 500*time.Millisecond) != nil {
				return
			}
			w.changed()
		}
	}
}

// status is the pod's status as this worker sees it now. Every field is
// set whole; conditions of types the runner does not own (readiness
// gates) are kept from the latest object, as a merge patch replaces lists.
func (w *podWorker) status() v1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := w.latest
	hostIP := w.r.cfg.Lab.IP().String()
	st := v1.PodStatus{
		HostIP:    hostIP,
		HostIPs:   []v1.HostIP{{IP: hostIP}},
		StartTime: &w.startTime,
	}
	if w.host != nil {
		ip := w.host.IP().String()
		st.PodIP, st.PodIPs = ip, []v1.PodIP{{IP: ip}}
	}
	var unready []string
	for _, c := range w.containers {
		cs := c.status()
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	if w.refused != "" {
		for _, c := range pod.Spec.Containers {
			st.ContainerStatuses = append(st.ContainerStatuses, v1.ContainerStatus{
				Name: c.Name, Image: c.Image, Started: new(bool),
				State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "PodInitializing"}},
			})
			unready = append(unready, c.Name)
		}
	}
	st.Phase = phase(pod.Spec.RestartPolicy, st.ContainerStatuses)

	set := func(t v1.PodConditionType, ok bool, reason, msg string) {
		s := v1.ConditionFalse
		if ok {
			s, reason, msg = v1.ConditionTrue, "", ""
		}
		old, had := w.conds[t]
		c := v1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: old.LastTransitionTime}
		if !had || old.Status != s {
			c.LastTransitionTime = metav1.Now()
		}
		w.conds[t] = c
	}
	set(v1.PodScheduled, true, "", "")
	set(v1.PodReadyToStartContainers, w.host != nil, "", "")
	set(v1.PodInitialized, w.refused == "", "InitContainersNotSupported", w.refused)
	notReady := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	set(v1.ContainersReady, len(unready) == 0, "ContainersNotReady", notReady)
	ready, reason, msg := len(unready) == 0, "ContainersNotReady", notReady
	if ready {
		for _, g := range pod.Spec.ReadinessGates {
			if !conditionTrue(pod.Status.Conditions, g.ConditionType) {
				ready, reason, msg = false, "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist or is not True", g.ConditionType)
				break
			}
		}
	}
	set(v1.PodReady, ready, reason, msg)

	for _, t := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.PodReady, v1.ContainersReady, v1.PodScheduled} {
		st.Conditions = append(st.Conditions, w.conds[t])
	}
	var others []v1.PodCondition
	for _, c := range pod.Status.Conditions {
		if _, ours := w.conds[c.Type]; !ours {
			others = append(others, c)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].Type < others[j].Type })
	st.Conditions = append(st.Conditions, others...)
	return st
}

func conditionTrue(conds []v1.PodCondition, t v1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// phase follows the kubelet: Pending while a container has never run;
// Running while one runs or will run again; then Succeeded or Failed.
func phase(policy v1.RestartPolicy, statuses []v1.ContainerStatus) v1.PodPhase {
	if len(statuses) == 0 {
		return v1.PodPending
	}
	running, failed := false, false
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running = true
		case s.State.Waiting != nil:
			if s.LastTerminationState.Terminated == nil {
				return v1.PodPending
			}
			running = true // restarting
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failed = true
			}
		}
	}
	switch {
	case running:
		return v1.PodRunning
	case policy == v1.RestartPolicyAlways || (policy == v1.RestartPolicyOnFailure && failed):
		return v1.PodRunning // about to restart
	case failed:
		return v1.PodFailed
	default:
		return v1.PodSucceeded
	}
}

func shortUID(uid types.UID) string {
	s := string(uid)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

// podIP is the pod's address, once it has a host.
func (w *podWorker) podIP() net.IP {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.host == nil {
		return nil
	}
	return w.host.IP()
}

// containerDir is container's working directory when its spec names none
// (or one this machine lacks: then it is made below this one).
func (w *podWorker) containerDir(c *v1.Container) (string, error) {
	dir := filepath.Join(w.dir, c.Name)
	if c.WorkingDir != "" {
		if st, err := os.Stat(c.WorkingDir); err == nil && st.IsDir() {
			return c.WorkingDir, nil
		}
		dir = filepath.Join(dir, c.WorkingDir)
	}
	return dir, os.MkdirAll(dir, 0o755)
}
