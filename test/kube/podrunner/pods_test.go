package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kwhisk/kwhisk/test/kube/lab"
)

func namespace(t *testing.T, c *testCluster, name string) {
	t.Helper()
	_, err := c.client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func createPod(t *testing.T, c *testCluster, pod *v1.Pod) {
	t.Helper()
	if _, err := c.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func envVar(name, value string) v1.EnvVar { return v1.EnvVar{Name: name, Value: value} }

func fieldEnv(name, path string) v1.EnvVar {
	return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}}
}

// waitPod watches the pod until cond holds (cond gets nil once the pod is
// gone), calling seen with every version on the way; it fails the test
// after within.
func waitPod(t *testing.T, c *testCluster, ns, name string, within time.Duration, what string, cond func(*v1.Pod) bool, seen ...func(*v1.Pod)) *v1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	pods := c.client.CoreV1().Pods(ns)
	sel := metav1.ListOptions{FieldSelector: "metadata.name=" + name}
	var last *v1.Pod
	see := func(p *v1.Pod) bool {
		last = p
		for _, f := range seen {
			f(p)
		}
		return cond(p)
	}
	for ctx.Err() == nil {
		list, err := pods.List(ctx, sel)
		if err != nil {
			break
		}
		var p *v1.Pod
		if len(list.Items) == 1 {
			p = &list.Items[0]
		}
		if see(p) {
			return p
		}
		sel.ResourceVersion = list.ResourceVersion
		w, err := pods.Watch(ctx, sel)
		if err != nil {
			break
		}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				p = nil
			}
			if see(p) {
				w.Stop()
				return p
			}
		}
		sel.ResourceVersion = ""
	}
	t.Fatalf("%s/%s: %s: not within %s; last: %s", ns, name, what, within, describe(last))
	return nil
}

func ready(p *v1.Pod) bool { return p != nil && conditionTrue(p.Status.Conditions, v1.PodReady) }

func gone(p *v1.Pod) bool { return p == nil }

func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	if p == nil {
		return nil
	}
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// get GETs a URL from the lab, retrying for a few seconds while nothing
// listens yet.
func get(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type containerEnv struct {
	Args []string
	Env  []string
	Cwd  string
}

func (e containerEnv) get(name string) (string, bool) {
	for _, kv := range e.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

func envOf(t *testing.T, ip string, port int) containerEnv {
	t.Helper()
	var e containerEnv
	if err := json.Unmarshal([]byte(get(t, fmt.Sprintf("http://%s:%d/env", ip, port))), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func readLog(t *testing.T, c *testCluster, ns, pod, container string) string {
	t.Helper()
	b, err := os.ReadFile(c.runner.LogPath(ns, pod, container))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPodWithTwoContainers(t *testing.T) {
	c := need(t)
	t.Parallel()
	ctx := context.Background()
	const ns = "two"
	namespace(t, c, ns)
	if _, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data:       map[string]string{"greeting": "hello", "A": "a1"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Secrets(ns).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data:       map[string][]byte{"token": []byte("s3cret")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	yes := true
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "two", Namespace: ns, Labels: map[string]string{"app": "demo"}},
		Spec: v1.PodSpec{
			ServiceAccountName: "runner-sa",
			Containers: []v1.Container{{
				Name:  "web",
				Image: "test/server",
				Args:  []string{"--name", "$(POD_NAME)", "$$(POD_NAME)", "$(UNDEFINED)"},
				Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env: []v1.EnvVar{
					envVar("PORT", "8080"),
					envVar("READY_AFTER", "1500ms"),
					fieldEnv("POD_NAME", "metadata.name"),
					fieldEnv("POD_NAMESPACE", "metadata.namespace"),
					fieldEnv("POD_UID", "metadata.uid"),
					fieldEnv("POD_IP", "status.podIP"),
					fieldEnv("HOST_IP", "status.hostIP"),
					fieldEnv("NODE", "spec.nodeName"),
					fieldEnv("SA", "spec.serviceAccountName"),
					fieldEnv("APP", "metadata.labels['app']"),
					{Name: "MEM_LIMIT", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory"}}},
					{Name: "CPU_LIMIT", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.cpu"}}},
					{Name: "CPU_MILLI", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
					{Name: "GREETING", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
					{Name: "TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "token"}}},
					{Name: "ABSENT", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "absent", Optional: &yes}}},
					envVar("OVERRIDDEN", "pod"),
					envVar("COMBINED", "$(POD_NAME)@$(POD_IP)"),
				},
				EnvFrom: []v1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}},
				Resources: v1.ResourceRequirements{
					Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")},
				},
				ReadinessProbe: &v1.Probe{
					ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{
						Path: "/healthz", Port: intstr.FromString("http"),
						HTTPHeaders: []v1.HTTPHeader{{Name: "X-Probe", Value: "yes"}},
					}},
					PeriodSeconds: 1,
				},
			}, {
				Name:    "side",
				Image:   "test/server",
				Command: []string{exe, "side-cmd"},
				Env:     []v1.EnvVar{envVar("PORT", "9090")},
				ReadinessProbe: &v1.Probe{
					ProbeHandler:  v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(9090)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}

	// Every version of the pod from its creation on, to count writes.
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=two"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	createPod(t, c, pod)
	var (
		versions    int
		runningOnly bool // web ran before it was ready
		readyAfter  time.Duration
		got         *v1.Pod
	)
	timeout := time.After(30 * time.Second)
	for got == nil {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			versions++
			if s := containerStatus(p, "web"); s != nil && s.State.Running != nil && !s.Ready {
				runningOnly = true
			}
			if ready(p) {
				got, readyAfter = p, time.Since(start)
			}
		case <-timeout:
			t.Fatalf("not Ready within 30s")
		}
	}
	t.Logf("Ready %s after create, %d versions of the pod on the way", readyAfter.Round(time.Millisecond), versions)

	if got.Spec.NodeName != nodeName {
		t.Errorf("nodeName %q, want %q (bound by the runner)", got.Spec.NodeName, nodeName)
	}
	node, err := c.client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Status.Conditions) == 0 || node.Status.Conditions[0].Type != v1.NodeReady || node.Status.Conditions[0].Status != v1.ConditionTrue {
		t.Errorf("node conditions %v, want Ready first", node.Status.Conditions)
	}
	if pods := node.Status.Allocatable[v1.ResourcePods]; pods.Value() < 40 {
		t.Errorf("node allocatable pods %s", pods.String())
	}
	if !runningOnly || readyAfter < 1500*time.Millisecond {
		t.Errorf("Ready %s after create (running-but-unready seen: %v); the probe fails for the first 1.5 s", readyAfter, runningOnly)
	}
	ip := net.ParseIP(got.Status.PodIP)
	if ip == nil || !lab.Network.Contains(ip) || ip.Equal(lab.Gateway) {
		t.Errorf("podIP %q, want one in %s", got.Status.PodIP, lab.Network)
	}
	if len(got.Status.PodIPs) != 1 || got.Status.PodIPs[0].IP != got.Status.PodIP {
		t.Errorf("podIPs %v", got.Status.PodIPs)
	}
	if got.Status.HostIP != "10.77.0.1" || got.Status.Phase != v1.PodRunning || got.Status.StartTime == nil {
		t.Errorf("hostIP %q phase %s startTime %v", got.Status.HostIP, got.Status.Phase, got.Status.StartTime)
	}
	for _, typ := range []v1.PodConditionType{v1.PodScheduled, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		if !conditionTrue(got.Status.Conditions, typ) {
			t.Errorf("condition %s not True: %s", typ, describe(got))
		}
	}
	for _, name := range []string{"web", "side"} {
		s := containerStatus(got, name)
		if s == nil || !s.Ready || s.Started == nil || !*s.Started || s.RestartCount != 0 || s.State.Running == nil || s.ImageID == "" || s.ContainerID == "" {
			t.Errorf("container %s: %+v", name, s)
		}
	}

	web := envOf(t, got.Status.PodIP, 8080)
	if want := []string{exe, "--name", "two", "$(POD_NAME)", "$(UNDEFINED)"}; strings.Join(web.Args, " ") != strings.Join(want, " ") {
		t.Errorf("web argv %q, want %q (Args replace the image's args, $(VAR) expanded)", web.Args, want)
	}
	wantEnv := map[string]string{
		"POD_NAME": "two", "POD_NAMESPACE": ns, "POD_UID": string(got.UID), "POD_IP": got.Status.PodIP,
		"HOST_IP": "10.77.0.1", "NODE": nodeName, "SA": "runner-sa", "APP": "demo",
		"MEM_LIMIT": "67108864", "CPU_LIMIT": "64", "CPU_MILLI": "100",
		"GREETING": "hello", "TOKEN": "s3cret", "CFG_greeting": "hello", "CFG_A": "a1",
		"FROM_IMAGE": "image", "OVERRIDDEN": "pod", "COMBINED": "two@" + got.Status.PodIP,
		"HOSTNAME": "two", "HOME": web.Cwd,
	}
	for k, want := range wantEnv {
		if v, ok := web.get(k); !ok || v != want {
			t.Errorf("web env %s=%q (set: %v), want %q", k, v, ok, want)
		}
	}
	for _, k := range []string{"ABSENT", "KUBECONFIG", "KUBERNETES_SERVICE_HOST"} {
		if v, ok := web.get(k); ok {
			t.Errorf("web env has %s=%q", k, v)
		}
	}
	side := envOf(t, got.Status.PodIP, 9090)
	if want := []string{exe, "side-cmd"}; strings.Join(side.Args, " ") != strings.Join(want, " ") {
		t.Errorf("side argv %q, want %q (Command replaces the entrypoint and drops the image's args)", side.Args, want)
	}
	if side.Cwd == web.Cwd || side.Cwd == "" {
		t.Errorf("working directories web %q, side %q: want one each", web.Cwd, side.Cwd)
	}
	// The containers share the pod's network: web reaches side on loopback.
	if got, want := get(t, "http://"+got.Status.PodIP+":8080/peer?port=9090"), "hello from two:9090"; got != want {
		t.Errorf("web → 127.0.0.1:9090: %q, want %q", got, want)
	}
	var probe map[string][]string
	if err := json.Unmarshal([]byte(get(t, "http://"+got.Status.PodIP+":8080/probes")), &probe); err != nil {
		t.Fatal(err)
	}
	if ua := probe["User-Agent"]; len(ua) != 1 || ua[0] != "kube-probe/1.34" {
		t.Errorf("probe User-Agent %q, want kube-probe/1.34", ua)
	}
	if h := probe["X-Probe"]; len(h) != 1 || h[0] != "yes" {
		t.Errorf("probe X-Probe %q, want the probe's header", h)
	}
	if log := readLog(t, c, ns, "two", "web"); !strings.Contains(log, "server started") {
		t.Errorf("web's log: %q", log)
	}

	// Probes go on every second; the status does not change, so it is not
	// written again.
	quiet := time.After(3 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			p, _ := ev.Object.(*v1.Pod)
			t.Errorf("pod written again while nothing changed: %s %s", ev.Type, describe(p))
		case <-quiet:
			done = true
		}
	}
	if versions > 8 {
		t.Errorf("%d versions of the pod before Ready; want few status writes", versions)
	}
}

func TestTrustedNamespaceGetsTheAPIServer(t *testing.T) {
	c := need(t)
	t.Parallel()
	namespace(t, c, trustedNS)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "component", Namespace: trustedNS},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: "test/server",
			Env: []v1.EnvVar{fieldEnv("POD_NAMESPACE", "metadata.namespace")},
		}}},
	})
	p := waitPod(t, c, trustedNS, "component", 30*time.Second, "Ready", ready)
	e := envOf(t, p.Status.PodIP, 8080)
	port := fmt.Sprint(c.server.Port())
	for k, want := range map[string]string{"KUBERNETES_SERVICE_HOST": "10.77.0.1", "KUBERNETES_SERVICE_PORT": port} {
		if v, _ := e.get(k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	// The pod reads its own object through KUBECONFIG, at the lab's address.
	if got, want := get(t, "http://"+p.Status.PodIP+":8080/kube"), "https://10.77.0.1:"+port+" "+p.Status.PodIP; got != want {
		t.Errorf("/kube: %q, want %q", got, want)
	}
}

func TestCrashingContainerRestartsWithBackOff(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "crash"
	namespace(t, c, ns)
	crash := func(name, code string, policy v1.RestartPolicy) {
		createPod(t, c, &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1.PodSpec{RestartPolicy: policy, Containers: []v1.Container{{
				Name: "c", Image: "test/crash",
				Env: []v1.EnvVar{envVar("EXIT_CODE", code), envVar("CRASH_AFTER", "200ms")},
			}}},
		})
	}
	start := time.Now()
	crash("always", "3", v1.RestartPolicyAlways)
	crash("never-ok", "0", v1.RestartPolicyNever)
	crash("never-fail", "5", v1.RestartPolicyNever)

	backedOff, readyInBackOff := false, false
	p := waitPod(t, c, ns, "always", 30*time.Second, "restarted twice", func(p *v1.Pod) bool {
		s := containerStatus(p, "c")
		return s != nil && s.RestartCount >= 2 && s.LastTerminationState.Terminated != nil
	}, func(p *v1.Pod) {
		if s := containerStatus(p, "c"); s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" {
			backedOff = true
			readyInBackOff = readyInBackOff || s.Ready || ready(p)
		}
	})
	took := time.Since(start)
	s := containerStatus(p, "c")
	t.Logf("two restarts in %s", took.Round(time.Millisecond))
	if last := s.LastTerminationState.Terminated; last.ExitCode != 3 || last.Reason != "Error" {
		t.Errorf("lastState terminated %+v, want exit code 3, Error", last)
	}
	// Back-off 1 s, then 2 s, on top of 2 × 200 ms of running.
	if took < 3*time.Second || !backedOff {
		t.Errorf("two restarts after %s (CrashLoopBackOff seen: %v); want back-off of 1 s + 2 s", took, backedOff)
	}
	if readyInBackOff || p.Status.Phase != v1.PodRunning {
		t.Errorf("crashing pod: Ready while backing off %v, phase %s", readyInBackOff, p.Status.Phase)
	}
	if n := strings.Count(readLog(t, c, ns, "always", "c"), "crashing"); n < 2 {
		t.Errorf("log has %d runs, want the output of each", n)
	}

	p = waitPod(t, c, ns, "never-ok", 10*time.Second, "Succeeded", func(p *v1.Pod) bool { return p != nil && p.Status.Phase == v1.PodSucceeded })
	if s := containerStatus(p, "c"); s.State.Terminated == nil || s.State.Terminated.Reason != "Completed" || s.RestartCount != 0 {
		t.Errorf("never-ok: %s", describe(p))
	}
	p = waitPod(t, c, ns, "never-fail", 10*time.Second, "Failed", func(p *v1.Pod) bool { return p != nil && p.Status.Phase == v1.PodFailed })
	if s := containerStatus(p, "c"); s.State.Terminated == nil || s.State.Terminated.ExitCode != 5 || s.RestartCount != 0 {
		t.Errorf("never-fail: %s", describe(p))
	}
}

func TestUnmappedImageIsErrImagePull(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "unmapped"
	namespace(t, c, ns)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec: v1.PodSpec{Containers: []v1.Container{
			{Name: "c", Image: "example.com/not-mapped:1"},
			{Name: "ok", Image: "test/server"},
		}},
	})
	pulled := func(p *v1.Pod) bool {
		s := containerStatus(p, "c")
		return s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "ErrImagePull"
	}
	waitPod(t, c, ns, "p", 20*time.Second, "ErrImagePull", func(p *v1.Pod) bool {
		o := containerStatus(p, "ok")
		return pulled(p) && o != nil && o.Ready
	})
	time.Sleep(1500 * time.Millisecond)
	p, err := c.client.CoreV1().Pods(ns).Get(context.Background(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !pulled(p) || ready(p) || p.Status.Phase != v1.PodPending {
		t.Errorf("later: %s; want still ErrImagePull, not Ready, Pending", describe(p))
	}
}

func TestStartDelayDelaysReady(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "slow"
	namespace(t, c, ns)
	start := time.Now()
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "test/slow"}}},
	})
	creating := false
	waitPod(t, c, ns, "p", 20*time.Second, "Ready", ready, func(p *v1.Pod) {
		if s := containerStatus(p, "c"); s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "ContainerCreating" {
			creating = true
		}
	})
	took := time.Since(start)
	t.Logf("Ready after %s", took.Round(time.Millisecond))
	if took < 2*time.Second || !creating {
		t.Errorf("Ready after %s (ContainerCreating seen: %v); the image's StartDelay is 2 s", took, creating)
	}
}

func TestDeletionStopsTheContainers(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "deletion"
	namespace(t, c, ns)
	two := int64(2)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "polite", Namespace: ns},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "test/server"}}},
	})
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stubborn", Namespace: ns},
		Spec: v1.PodSpec{TerminationGracePeriodSeconds: &two, Containers: []v1.Container{{
			Name: "c", Image: "test/server", Env: []v1.EnvVar{envVar("IGNORE_TERM", "1")},
		}}},
	})
	for _, name := range []string{"polite", "stubborn"} {
		p := waitPod(t, c, ns, name, 30*time.Second, "Ready", ready)
		get(t, "http://"+p.Status.PodIP+":8080/hello") // it serves
		start := time.Now()
		if err := c.client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, c, ns, name, 20*time.Second, "gone", gone)
		took := time.Since(start)
		t.Logf("%s gone %s after delete", name, took.Round(time.Millisecond))
		log := readLog(t, c, ns, name, "c")
		switch name {
		case "polite":
			if !strings.Contains(log, "got SIGTERM") || took > 3*time.Second {
				t.Errorf("polite: gone after %s, log %q; want SIGTERM and a quick end", took, log)
			}
		case "stubborn":
			if !strings.Contains(log, "ignoring SIGTERM") || took < 2*time.Second || took > 8*time.Second {
				t.Errorf("stubborn: gone after %s, log %q; want SIGTERM ignored, SIGKILL after the 2 s grace", took, log)
			}
		}
		// Its host is gone with it.
		if conn, err := net.DialTimeout("tcp", p.Status.PodIP+":8080", time.Second); err == nil {
			conn.Close()
			t.Errorf("%s: %s:8080 still answers", name, p.Status.PodIP)
		}
	}
}

func TestExecReadinessAndLiveness(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "probes"
	namespace(t, c, ns)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: "test/server",
			Env: []v1.EnvVar{envVar("READY_AFTER", "1s"), envVar("LIVE_FOR", "3s"), fieldEnv("POD_NAME", "metadata.name")},
			// In the container's working directory, with its env.
			ReadinessProbe: &v1.Probe{
				ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"/bin/sh", "-c", `test -f ready && test "$POD_NAME" = p`}}},
				PeriodSeconds: 1,
			},
			LivenessProbe: &v1.Probe{
				ProbeHandler:     v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/live", Port: intstr.FromInt32(8080)}},
				PeriodSeconds:    1,
				FailureThreshold: 2,
			},
		}}},
	})
	start := time.Now()
	waitPod(t, c, ns, "p", 20*time.Second, "Ready", ready)
	t.Logf("exec probe Ready after %s", time.Since(start).Round(time.Millisecond))
	p := waitPod(t, c, ns, "p", 30*time.Second, "restarted by liveness", func(p *v1.Pod) bool {
		s := containerStatus(p, "c")
		return s != nil && s.RestartCount >= 1
	})
	t.Logf("liveness restart after %s", time.Since(start).Round(time.Millisecond))
	if s := containerStatus(p, "c"); s.LastTerminationState.Terminated == nil {
		t.Errorf("no lastState after the liveness kill: %s", describe(p))
	}
	if log := readLog(t, c, ns, "p", "c"); !strings.Contains(log, "got SIGTERM") {
		t.Errorf("log %q: want the liveness kill's SIGTERM", log)
	}
}

func TestMissingConfigMapWaitsForIt(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "config"
	namespace(t, c, ns)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: "test/server",
			Env: []v1.EnvVar{{Name: "LATER", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "later"}, Key: "k"}}}},
		}}},
	})
	waitPod(t, c, ns, "p", 20*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
		s := containerStatus(p, "c")
		return s != nil && s.State.Waiting != nil && s.State.Waiting.Reason == "CreateContainerConfigError"
	})
	if _, err := c.client.CoreV1().ConfigMaps(ns).Create(context.Background(), &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "later"}, Data: map[string]string{"k": "now"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, ns, "p", 20*time.Second, "Ready once the ConfigMap exists", ready)
	if v, _ := envOf(t, p.Status.PodIP, 8080).get("LATER"); v != "now" {
		t.Errorf("LATER=%q, want now", v)
	}
}

func TestInitContainersAreRefused(t *testing.T) {
	c := need(t)
	t.Parallel()
	const ns = "init"
	namespace(t, c, ns)
	createPod(t, c, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{{Name: "i", Image: "test/crash"}},
			Containers:     []v1.Container{{Name: "c", Image: "test/server"}},
		},
	})
	p := waitPod(t, c, ns, "p", 20*time.Second, "Initialized=False", func(p *v1.Pod) bool {
		for _, cond := range p.Status.Conditions {
			if cond.Type == v1.PodInitialized && cond.Status == v1.ConditionFalse && cond.Reason == "InitContainersNotSupported" {
				return true
			}
		}
		return false
	})
	if s := containerStatus(p, "c"); ready(p) || s == nil || s.State.Waiting == nil || s.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("pod with init containers: %s; want its containers waiting, not Ready", describe(p))
	}
	// Deleting it still works: nothing ran.
	if err := c.client.CoreV1().Pods(ns).Delete(context.Background(), "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, ns, "p", 20*time.Second, "gone", gone)
}
