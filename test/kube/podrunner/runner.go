// Package podrunner is a stand-in for a kubelet and a scheduler, for the
// kube suite only: it lets real controllers (kube-controller-manager's
// Deployments and ReplicaSets, Knative Serving's own components and the
// revision pods they make) run against a real kube-apiserver on a machine
// with no container runtime, no images and no network beyond the test
// lab (package lab).
//
// What it does, as a kubelet would: it registers one Ready Node, binds
// every unscheduled pod to it (the Binding subresource), and runs each pod
// of the node on a host of its own in the lab (a network namespace with
// its own IP, never reused), its containers as local processes sharing
// that host. An image is a name in Config.Images, mapped to a local binary
// with its default args and env; a StartDelay stands for the image pull.
// It resolves env (values, fieldRef, resourceFieldRef, configMapKeyRef,
// secretKeyRef, envFrom, $(VAR) expansion), Command/Args as Kubernetes
// defines them, runs readiness, liveness and startup probes (HTTP with the
// kubelet's User-Agent, TCP, exec in the host), restarts containers per
// the restart policy with back-off, writes the pod's status (only when it
// changed: the API server is shared), and on deletion SIGTERMs every
// container, SIGKILLs after the grace period (capped), then deletes the
// pod object with grace 0.
//
// What it does not do, unlike a kubelet: no container isolation beyond
// the network (processes share the file system, users and PID space with
// the test), no volumes (no ConfigMap/Secret/projected mounts and no
// service-account token: trusted namespaces get a KUBECONFIG instead),
// no init containers (such a pod is refused: Initialized stays False), no
// resource limits, no preStop or postStart hooks, no hostNetwork or
// hostPort, no DNS policy (every host resolves through the lab's
// nameserver), no node heartbeats or leases, no logs or exec through the
// API server (container logs are files in Config.LogsDir), gRPC probes
// are plain TCP connects, and probes dial the pod's IP from the lab even
// when the probe names another host.
package podrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kwhisk/kwhisk/test/kube/apiserver"
	"github.com/kwhisk/kwhisk/test/kube/lab"
)

// Image is what an image name stands for here: a local binary with the
// image's default arguments (its CMD; Binary is its ENTRYPOINT) and
// environment (KEY=value, under the pod's own env).
type Image struct {
	Binary string
	Args   []string
	Env    []string
	// StartDelay holds each pod's first start of the container in
	// Waiting/ContainerCreating, as an image pull would (every pod, as
	// with imagePullPolicy Always), so slow starts are reproducible.
	// Restarts do not wait again.
	StartDelay time.Duration
}

// Config is what a Runner needs.
type Config struct {
	Rest     *rest.Config // the API server, as its admin
	NodeName string
	Lab      *lab.Lab // hosts for pods are made here

	Images map[string]Image
	// Resolve maps an image not in Images; nil, or false from it, leaves
	// the container Waiting with reason ErrImagePull.
	Resolve func(image string) (Image, bool)

	// Trusted namespaces' pods get KUBECONFIG (a kubeconfig with Rest's
	// bearer token for APIServer, CA unchecked: the stand-in for a
	// service-account token mount) and KUBERNETES_SERVICE_HOST/PORT.
	Trusted []string
	// Accounts maps "namespace/serviceaccount" to a bearer token of that
	// account: a trusted pod running as it gets a kubeconfig with that
	// token instead of Rest's, for components whose webhooks check who
	// made a change (Knative Eventing's in-memory channel admits
	// subscriber changes from its controller's account alone).
	Accounts map[string]string
	// APIServer is the API server's URL as pods reach it (https://10.77.0.1:<port>);
	// default Rest.Host.
	APIServer string

	LogsDir string // required: <ns>_<pod>_<container>.log, podrunner.log
	// WorkDir holds a working directory per container and the trusted
	// kubeconfig; default a temporary directory removed when Run returns.
	WorkDir string

	MaxBackoff     time.Duration // restart back-off cap (from 1 s, doubling); default 10 s
	MaxGrace       time.Duration // termination grace cap; default 10 s
	MaxProbePeriod time.Duration // cap on probes' periodSeconds; 0: as written
}

// The node's capacity: enough for the few dozen pods of a test run.
var capacity = v1.ResourceList{
	v1.ResourceCPU:              resource.MustParse("64"),
	v1.ResourceMemory:           resource.MustParse("256Gi"),
	v1.ResourcePods:             resource.MustParse("110"),
	v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
}

// kubeletVersion is what the Node reports and the probes' User-Agent
// carries (kube-probe/<major>.<minor>), matching the API server's version.
const kubeletVersion = "v1.34.3"

// Runner runs the pods of its node.
type Runner struct {
	cfg    Config
	client kubernetes.Interface
	log    *logger

	mu         sync.Mutex
	workers    map[types.UID]*podWorker
	finished   map[types.UID]bool // pods done with: never run again
	binding    map[types.UID]bool
	kubeconfig string
	// accounts are the kubeconfigs of Config.Accounts, by "ns/sa".
	accounts map[string]string
	wg       sync.WaitGroup
}

// New returns a Runner for cfg; Run starts it.
func New(cfg Config) *Runner {
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.MaxGrace <= 0 {
		cfg.MaxGrace = 10 * time.Second
	}
	if cfg.APIServer == "" && cfg.Rest != nil {
		cfg.APIServer = cfg.Rest.Host
	}
	return &Runner{cfg: cfg, workers: map[types.UID]*podWorker{}, finished: map[types.UID]bool{}, binding: map[types.UID]bool{}}
}

// Run registers the node and runs pods until ctx ends; then it stops every
// container (SIGTERM, SIGKILL after 2 s) and removes their hosts, leaving
// the API objects as they are. It returns early only if it cannot start.
func (r *Runner) Run(ctx context.Context) error {
	c := r.cfg
	if c.Rest == nil || c.NodeName == "" || c.Lab == nil || c.LogsDir == "" {
		return errors.New("podrunner: Config needs Rest, NodeName, Lab and LogsDir")
	}
	if err := os.MkdirAll(c.LogsDir, 0o755); err != nil {
		return err
	}
	var err error
	if r.log, err = newLogger(filepath.Join(c.LogsDir, "podrunner.log")); err != nil {
		return err
	}
	defer r.log.close()
	if c.WorkDir == "" {
		if r.cfg.WorkDir, err = os.MkdirTemp("", "kwhisk-pods-"); err != nil {
			return err
		}
		defer os.RemoveAll(r.cfg.WorkDir)
	} else if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return err
	}
	rc := rest.CopyConfig(c.Rest)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	if r.client, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if len(c.Trusted) > 0 {
		r.kubeconfig = filepath.Join(r.cfg.WorkDir, "trusted.kubeconfig")
		if err := apiserver.WriteKubeconfig(r.kubeconfig, c.APIServer, c.Rest.BearerToken); err != nil {
			return err
		}
		r.accounts = map[string]string{}
		for account, token := range c.Accounts {
			path := filepath.Join(r.cfg.WorkDir, strings.ReplaceAll(account, "/", "_")+".kubeconfig")
			if err := apiserver.WriteKubeconfig(path, c.APIServer, token); err != nil {
				return err
			}
			r.accounts[account] = path
		}
	}
	if err := r.registerNode(ctx); err != nil {
		return err
	}

	factory := informers.NewSharedInformerFactory(r.client, 0)
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { r.observe(ctx, obj) },
		DeleteFunc: r.deleted,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok && ctx.Err() == nil {
			return fmt.Errorf("podrunner: %v informer did not sync", typ)
		}
	}
	r.log.printf("node %s ready", c.NodeName)
	<-ctx.Done()
	factory.Shutdown()
	r.wg.Wait()
	return nil
}

// LogPath is where a container's output goes (appended across restarts).
func (r *Runner) LogPath(namespace, pod, container string) string {
	return filepath.Join(r.cfg.LogsDir, namespace+"_"+pod+"_"+container+".log")
}

// registerNode creates (or refreshes) the Node with a Ready condition.
func (r *Runner) registerNode(ctx context.Context) error {
	nodes := r.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: r.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": r.cfg.NodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     runtime.GOARCH,
			},
		}}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("podrunner: node %s: %w", r.cfg.NodeName, err)
	}
	now := metav1.Now()
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	node.Status = v1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       v1.NodeRunning,
		Conditions: []v1.NodeCondition{
			cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "kwhisk pod runner is posting ready status"),
			cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", ""),
			cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", ""),
			cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", ""),
		},
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: r.cfg.Lab.IP().String()},
			{Type: v1.NodeHostName, Address: r.cfg.NodeName},
		},
		NodeInfo: v1.NodeSystemInfo{
			KubeletVersion: kubeletVersion, KubeProxyVersion: kubeletVersion,
			OperatingSystem: "linux", Architecture: runtime.GOARCH,
			ContainerRuntimeVersion: "kwhisk-podrunner://0",
		},
	}
	if _, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("podrunner: node %s status: %w", r.cfg.NodeName, err)
	}
	return nil
}

// observe routes a pod event: unscheduled pods are bound to the node,
// the node's pods go to their worker.
func (r *Runner) observe(ctx context.Context, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	switch pod.Spec.NodeName {
	case "":
		if pod.DeletionTimestamp == nil && (pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == v1.DefaultSchedulerName) {
			r.bind(ctx, pod)
		}
		return
	case r.cfg.NodeName:
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished[pod.UID] || ctx.Err() != nil {
		return
	}
	w := r.workers[pod.UID]
	if w == nil {
		if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			r.finished[pod.UID] = true
			return
		}
		w = newPodWorker(r, pod)
		r.workers[pod.UID] = w
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(ctx)
			r.mu.Lock()
			delete(r.workers, pod.UID)
			r.finished[pod.UID] = true
			r.mu.Unlock()
		}()
	}
	w.update(pod)
}

// deleted tells a pod's worker that its object is gone.
func (r *Runner) deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	w := r.workers[pod.UID]
	delete(r.binding, pod.UID)
	r.mu.Unlock()
	if w != nil {
		w.objectGone()
	}
}

// bind binds pod to the node once, retrying transient errors.
func (r *Runner) bind(ctx context.Context, pod *v1.Pod) {
	r.mu.Lock()
	if r.binding[pod.UID] {
		r.mu.Unlock()
		return
	}
	r.binding[pod.UID] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		b := &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     v1.ObjectReference{Kind: "Node", Name: r.cfg.NodeName},
		}
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
			err := r.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
			if err == nil || apierrors.IsConflict(err) || apierrors.IsNotFound(err) || ctx.Err() != nil {
				if err != nil && ctx.Err() == nil {
					r.log.printf("bind %s/%s: %v", pod.Namespace, pod.Name, err)
				}
				return
			}
			r.log.printf("bind %s/%s: %v (retrying)", pod.Namespace, pod.Name, err)
			if sleep(ctx, wait) != nil {
				return
			}
		}
	}()
}

// kubeconfigOf is the kubeconfig of a trusted pod: its service
// account's (Config.Accounts), else Rest's.
func (r *Runner) kubeconfigOf(pod *v1.Pod) string {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	if path, ok := r.accounts[pod.Namespace+"/"+sa]; ok {
		return path
	}
	return r.kubeconfig
}

// trusted reports whether pods of namespace ns get the API server's
// kubeconfig.
func (r *Runner) trusted(ns string) bool {
	for _, t := range r.cfg.Trusted {
		if t == ns {
			return true
		}
	}
	return false
}

// apiHostPort is the host and port of APIServer, for KUBERNETES_SERVICE_*.
func (r *Runner) apiHostPort() (string, string) {
	u, err := url.Parse(r.cfg.APIServer)
	if err != nil {
		return "", ""
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return u.Host, "443"
	}
	return host, port
}

// logger writes the runner's own events (binding and status errors,
// container starts and exits) to a file.
type logger struct {
	mu sync.Mutex
	f  *os.File
}

func newLogger(path string) (*logger, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &logger{f: f}, nil
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		fmt.Fprintf(l.f, "%s %s\n", time.Now().Format("15:04:05.000"), strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
}

func (l *logger) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Close()
	l.f = nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
