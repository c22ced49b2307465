package podrunner

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"plain":          "plain",
		"$(A)":           "x",
		"a-$(A)-b":       "a-x-b",
		"$(EMPTY)!":      "!",
		"$(MISSING)":     "$(MISSING)",
		"$$(A)":          "$(A)",
		"$$":             "$",
		"cost $5":        "cost $5",
		"$(A":            "$(A",
		"end$":           "end$",
		"$(A)$(A)$$$(A)": "xx$x",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhase(t *testing.T) {
	running := v1.ContainerStatus{State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}
	creating := v1.ContainerStatus{State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	backoff := v1.ContainerStatus{
		State:                v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1}},
	}
	exited := func(code int32) v1.ContainerStatus {
		return v1.ContainerStatus{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}}
	}
	for _, c := range []struct {
		policy v1.RestartPolicy
		st     []v1.ContainerStatus
		want   v1.PodPhase
	}{
		{v1.RestartPolicyAlways, nil, v1.PodPending},
		{v1.RestartPolicyAlways, []v1.ContainerStatus{running, creating}, v1.PodPending},
		{v1.RestartPolicyAlways, []v1.ContainerStatus{running, backoff}, v1.PodRunning},
		{v1.RestartPolicyAlways, []v1.ContainerStatus{exited(0)}, v1.PodRunning},
		{v1.RestartPolicyOnFailure, []v1.ContainerStatus{exited(0)}, v1.PodSucceeded},
		{v1.RestartPolicyOnFailure, []v1.ContainerStatus{exited(2)}, v1.PodRunning},
		{v1.RestartPolicyNever, []v1.ContainerStatus{exited(0), exited(0)}, v1.PodSucceeded},
		{v1.RestartPolicyNever, []v1.ContainerStatus{exited(0), exited(1)}, v1.PodFailed},
		{v1.RestartPolicyNever, []v1.ContainerStatus{exited(1), running}, v1.PodRunning},
	} {
		if got := phase(c.policy, c.st); got != c.want {
			t.Errorf("phase(%s, %+v) = %s, want %s", c.policy, c.st, got, c.want)
		}
	}
}

func TestResourceField(t *testing.T) {
	pod := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{
		{Name: "a", Resources: v1.ResourceRequirements{
			Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("1500m"), v1.ResourceMemory: resource.MustParse("1Gi")},
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
		}},
		{Name: "b"},
	}}}
	c := &container{spec: &pod.Spec.Containers[1]}
	for _, tc := range []struct {
		ref  v1.ResourceFieldSelector
		want string
	}{
		{v1.ResourceFieldSelector{ContainerName: "a", Resource: "limits.cpu"}, "2"}, // rounded up
		{v1.ResourceFieldSelector{ContainerName: "a", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}, "1500"},
		{v1.ResourceFieldSelector{ContainerName: "a", Resource: "requests.cpu", Divisor: resource.MustParse("1m")}, "250"},
		{v1.ResourceFieldSelector{ContainerName: "a", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}, "1024"},
		{v1.ResourceFieldSelector{Resource: "limits.cpu"}, "64"},              // unset: the node's
		{v1.ResourceFieldSelector{Resource: "limits.memory"}, "274877906944"}, // 256Gi
		{v1.ResourceFieldSelector{Resource: "requests.memory"}, "0"},
	} {
		got, err := c.resourceField(pod, &tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	if _, err := c.resourceField(pod, &v1.ResourceFieldSelector{ContainerName: "zz", Resource: "limits.cpu"}); err == nil {
		t.Error("a missing container resolved")
	}
}

func TestProbeUserAgent(t *testing.T) {
	if probeUserAgent != "kube-probe/1.34" {
		t.Errorf("probe User-Agent %q, want kube-probe/1.34", probeUserAgent)
	}
}
