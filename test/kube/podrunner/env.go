package podrunner

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultPath is PATH for containers whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envList is an environment in definition order; a later definition of
// a name replaces the value and keeps the place.
type envList struct {
	names []string
	vals  map[string]string
}

func (e *envList) set(name, val string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[name]; !ok {
		e.names = append(e.names, name)
	}
	e.vals[name] = val
}

func (e *envList) lookup(name string) (string, bool) {
	v, ok := e.vals[name]
	return v, ok
}

func (e *envList) list() []string {
	out := make([]string, len(e.names))
	for i, n := range e.names {
		out[i] = n + "=" + e.vals[n]
	}
	return out
}

// prepare resolves what a process of the container needs: its argv (the
// image's entrypoint and args, Command replacing the entrypoint and Args
// the default args, both with $(VAR) expanded), its environment, and
// its working directory.
func (c *container) prepare(ctx context.Context, img Image) (argv, env []string, dir string, err error) {
	if dir, err = c.w.containerDir(c.spec); err != nil {
		return nil, nil, "", err
	}
	pod := c.w.pod()
	var e envList
	e.set("PATH", defaultPath)
	e.set("HOME", dir)
	e.set("HOSTNAME", pod.Name)
	for _, kv := range img.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.set(k, v)
		}
	}
	if c.w.r.trusted(pod.Namespace) {
		host, port := c.w.r.apiHostPort()
		e.set("KUBERNETES_SERVICE_HOST", host)
		e.set("KUBERNETES_SERVICE_PORT", port)
		e.set("KUBERNETES_SERVICE_PORT_HTTPS", port)
		e.set("KUBECONFIG", c.w.r.kubeconfigOf(pod))
	}
	if err := c.envFrom(ctx, pod, &e); err != nil {
		return nil, nil, "", err
	}
	for _, v := range c.spec.Env {
		if v.ValueFrom == nil {
			e.set(v.Name, expand(v.Value, e.lookup))
			continue
		}
		val, ok, err := c.valueFrom(ctx, pod, v.ValueFrom)
		if err != nil {
			return nil, nil, "", fmt.Errorf("env %s: %w", v.Name, err)
		}
		if ok {
			e.set(v.Name, val)
		}
	}

	entry, args := []string{img.Binary}, img.Args
	if len(c.spec.Command) > 0 {
		entry, args = expandAll(c.spec.Command, e.lookup), nil
	}
	if len(c.spec.Args) > 0 {
		args = expandAll(c.spec.Args, e.lookup)
	}
	argv = append(append([]string{}, entry...), args...)
	if len(argv) == 0 || argv[0] == "" {
		return nil, nil, "", fmt.Errorf("image %q has no binary and the container no command", c.spec.Image)
	}
	return argv, e.list(), dir, nil
}

// envFrom adds every key of the container's envFrom sources, in order.
func (c *container) envFrom(ctx context.Context, pod *v1.Pod, e *envList) error {
	for _, src := range c.spec.EnvFrom {
		var data map[string]string
		switch {
		case src.ConfigMapRef != nil:
			cm, err := c.w.r.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, src.ConfigMapRef.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && optional(src.ConfigMapRef.Optional) {
				continue
			}
			if err != nil {
				return fmt.Errorf("envFrom configmap %q: %w", src.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case src.SecretRef != nil:
			s, err := c.w.r.client.CoreV1().Secrets(pod.Namespace).Get(ctx, src.SecretRef.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && optional(src.SecretRef.Optional) {
				continue
			}
			if err != nil {
				return fmt.Errorf("envFrom secret %q: %w", src.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.set(src.Prefix+k, data[k])
		}
	}
	return nil
}

func optional(b *bool) bool { return b != nil && *b }

// valueFrom resolves one env source; ok is false for an optional key or
// object that does not exist (the variable is then not set).
func (c *container) valueFrom(ctx context.Context, pod *v1.Pod, src *v1.EnvVarSource) (val string, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch {
	case src.FieldRef != nil:
		v, err := c.field(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := c.resourceField(pod, src.ResourceFieldRef)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := c.w.r.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && optional(ref.Optional) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("configmap %q: %w", ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("configmap %q has no key %q", ref.Name, ref.Key)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := c.w.r.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && optional(ref.Optional) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("secret %q has no key %q", ref.Name, ref.Key)
	}
	return "", false, fmt.Errorf("unsupported valueFrom")
}

// field is a fieldRef's value: the downward API's fields for env.
func (c *container) field(pod *v1.Pod, path string) (string, error) {
	hostIP := c.w.r.cfg.Lab.IP().String()
	podIP := ""
	if ip := c.w.podIP(); ip != nil {
		podIP = ip.String()
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return c.w.r.cfg.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(key, "']") {
			return m[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("fieldRef %q is not supported", path)
}

// resourceField is a resourceFieldRef's value: the quantity divided by
// the divisor (default 1), rounded up; a limit not set is the node's
// allocatable amount, as with a kubelet.
func (c *container) resourceField(pod *v1.Pod, ref *v1.ResourceFieldSelector) (string, error) {
	target := c.spec
	if ref.ContainerName != "" && ref.ContainerName != c.spec.Name {
		target = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				target = &pod.Spec.Containers[i]
			}
		}
		if target == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %q is not supported", ref.Resource)
	}
	list := target.Resources.Requests
	if kind == "limits" {
		list = target.Resources.Limits
	}
	q, set := list[v1.ResourceName(name)]
	if !set && kind == "limits" {
		q = capacity[v1.ResourceName(name)]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(v1.ResourceCPU) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// expand replaces $(NAME) with NAME's value where lookup knows it, leaves
// it as written where not, and turns $$ into $ — Kubernetes' rules for
// env values, Command and Args.
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			ref := s[i : i+3+end]
			if v, ok := lookup(s[i+2 : i+2+end]); ok {
				b.WriteString(v)
			} else {
				b.WriteString(ref)
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(ss []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = expand(s, lookup)
	}
	return out
}
