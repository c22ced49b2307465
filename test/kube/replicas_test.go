package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
)

// TestGatewayProbesAndBudget checks the single SQLite replica of config/:
// probes on /ping at the API's port, and a PodDisruptionBudget over the
// gateway's pods that lets a drain evict the one replica (maxUnavailable
// 1; minAvailable 1 would block it). It needs no cluster.
func TestGatewayProbesAndBudget(t *testing.T) {
	objs, err := readYAMLDir("../../config")
	if err != nil {
		t.Fatal(err)
	}
	d := deployment(t, objs, "kwhisk")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("the SQLite gateway is not one replica with Recreate: replicas %v, strategy %q", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if v := volume(d, "data"); v == nil || v.PersistentVolumeClaim == nil || find(objs, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil {
		t.Errorf("the SQLite gateway's data volume is not a PersistentVolumeClaim of config/: %+v", v)
	}
	checkProbes(t, d)

	var pdb policyv1.PodDisruptionBudget
	convert(t, find(objs, "PodDisruptionBudget", "kwhisk"), &pdb)
	if pdb.Namespace != d.Namespace || pdb.Spec.Selector == nil || !cmp.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget %s/%s selects %v, the gateway's pods are %s/%v", pdb.Namespace, pdb.Name, pdb.Spec.Selector, d.Namespace, d.Spec.Selector.MatchLabels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: maxUnavailable %v, minAvailable %v; want maxUnavailable 1 only", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	var svc corev1.Service
	convert(t, find(objs, "Service", "kwhisk"), &svc)
	if !cmp.Equal(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service selects %v, the gateway's pods are labelled %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
}

// TestReplicasOnPostgres checks config/optional/postgres/: a Deployment
// that replaces config/'s gateway with two or more replicas reading
// KWHISK_STORE_URL from the kwhisk-store Secret, sharing code.key and
// events.key from the kwhisk-keys Secret, and holding no volume claim;
// otherwise the same container as config/'s, selected by the same
// Service and PodDisruptionBudget. Its example Secrets are not applied
// with it, and their placeholders are refused by the gateway.
func TestReplicasOnPostgres(t *testing.T) {
	base, err := readYAMLDir("../../config")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := readYAMLDir("../../config/optional/postgres")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("config/optional/postgres/ applies Secret %s: its placeholder would overwrite the real one", o.GetName())
		}
	}
	b := deployment(t, base, "kwhisk")
	d := deployment(t, objs, "kwhisk")
	if d.Namespace != b.Namespace || d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %d in namespace %q; want 2 or more in %q", ptrOr(d.Spec.Replicas, 1), d.Namespace, b.Namespace)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		t.Error("strategy Recreate stops every replica on each rollout")
	}
	if !cmp.Equal(d.Spec.Selector, b.Spec.Selector) || !cmp.Equal(d.Spec.Template.Labels, b.Spec.Template.Labels) {
		t.Errorf("selector %v, labels %v differ from config/'s gateway, which its Service and PodDisruptionBudget select", d.Spec.Selector, d.Spec.Template.Labels)
	}
	checkProbes(t, d)

	c := d.Spec.Template.Spec.Containers[0]
	var url *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == "KWHISK_STORE_URL" && e.ValueFrom != nil {
			url = e.ValueFrom.SecretKeyRef
		}
		if e.Name == "KWHISK_STORE_URL" && e.Value != "" {
			t.Error("KWHISK_STORE_URL has a literal value: the URL holds a password, take it from a Secret")
		}
	}
	if url == nil || url.Name != "kwhisk-store" || url.Key != "url" {
		t.Errorf("KWHISK_STORE_URL comes from %+v, want secretKeyRef kwhisk-store/url", url)
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s is a PersistentVolumeClaim: replicas cannot share one", v.Name)
		}
	}
	dataDir := flagValue(c.Args, "--data-dir")
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m, ok := mounts[dataDir]; !ok || volume(d, m.Name) == nil || volume(d, m.Name).EmptyDir == nil {
		t.Errorf("--data-dir %q is not on an emptyDir", dataDir)
	}
	for _, key := range []string{"code.key", "events.key"} {
		m, ok := mounts[filepath.Join(dataDir, key)]
		v := volume(d, m.Name)
		if !ok || m.SubPath != key || v == nil || v.Secret == nil || v.Secret.SecretName != "kwhisk-keys" || v.Secret.Optional != nil && *v.Secret.Optional ||
			ptrOr(v.Secret.DefaultMode, 0o644) != 0o440 {
			t.Errorf("%s in the data dir is not key %s of the Secret kwhisk-keys (mount %+v, volume %+v): replicas would sign with different keys", key, key, m, v)
		}
	}

	// The rest of the container is config/'s, so the two do not drift.
	bc := b.Spec.Template.Spec.Containers[0]
	if diff := cmp.Diff(bc.Image, c.Image) + cmp.Diff(bc.Args, c.Args) + cmp.Diff(bc.EnvFrom, c.EnvFrom) +
		cmp.Diff(bc.Ports, c.Ports) + cmp.Diff(bc.Resources, c.Resources) + cmp.Diff(bc.SecurityContext, c.SecurityContext) +
		cmp.Diff(bc.ReadinessProbe, c.ReadinessProbe) + cmp.Diff(bc.LivenessProbe, c.LivenessProbe) +
		cmp.Diff(b.Spec.Template.Spec.SecurityContext, d.Spec.Template.Spec.SecurityContext) +
		cmp.Diff(b.Spec.Template.Spec.ServiceAccountName, d.Spec.Template.Spec.ServiceAccountName); diff != "" {
		t.Errorf("the replicas' gateway differs from config/'s (-config/ +optional/postgres/):\n%s", diff)
	}

	example, err := readYAMLDir("../../config/optional/postgres/example")
	if err != nil {
		t.Fatal(err)
	}
	store := secretData(t, example, "kwhisk-store")
	if _, err := config.Parse([]string{"--platform", "knative", "--runtimes-dir", "/etc/kwhisk/runtimes"}, func(k string) string {
		return map[string]string{"KWHISK_STORE_URL": store["url"]}[k]
	}); err != nil || !strings.Contains(store["url"], "sslmode=require") {
		t.Errorf("example store URL %q: %v (want a valid URL with sslmode=require)", store["url"], err)
	}
	keys := secretData(t, example, "kwhisk-keys")
	dir := t.TempDir()
	for name, load := range map[string]func(string) error{
		"code.key":   func(p string) error { _, err := knative.LoadKey(p); return err },
		"events.key": func(p string) error { _, err := events.LoadTokens(p); return err },
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(keys[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := load(p); err == nil {
			t.Errorf("the gateway accepts the example's placeholder %s %q", name, keys[name])
		}
	}
}

// TestReplicasApplyOnTop applies config/optional/postgres/ over the
// config/ the harness applied, as `ko apply -f config/ -f
// config/optional/postgres/` does, and back: the API server accepts both
// switches (PersistentVolumeClaim to emptyDir, Recreate to RollingUpdate)
// and the applied Deployment is the replicas' one.
func TestReplicasApplyOnTop(t *testing.T) {
	h := need(t)
	ctx := t.Context()
	load := func(dir string) []*unstructured.Unstructured {
		objs, err := readYAMLDir(filepath.Join(h.root, dir))
		if err != nil {
			t.Fatal(err)
		}
		var out []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				// Not resolved by ko here: a stand-in image.
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				for _, c := range cs {
					c.(map[string]any)["image"] = "kwhisk.test/kwhisk"
				}
				if err := unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", "containers"); err != nil {
					t.Fatal(err)
				}
				out = append(out, o)
			}
		}
		return out
	}
	a, err := newApplier(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	base := load("config")
	t.Cleanup(func() {
		if err := a.apply(context.Background(), base); err != nil {
			t.Errorf("the API server refuses config/'s gateway over the replicas': %v", err)
		}
	})
	if err := a.apply(ctx, base); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(ctx, load("config/optional/postgres")); err != nil {
		t.Fatalf("the API server refuses config/optional/postgres/ over config/: %v", err)
	}
	dep, err := h.core.AppsV1().Deployments("kwhisk").Get(ctx, "kwhisk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := volume(dep, "data")
	if ptrOr(dep.Spec.Replicas, 1) < 2 || dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || v == nil || v.PersistentVolumeClaim != nil || v.EmptyDir == nil {
		t.Errorf("applied Deployment: replicas %d, strategy %q, data volume %+v", ptrOr(dep.Spec.Replicas, 1), dep.Spec.Strategy.Type, v)
	}
}

// checkProbes checks d's gateway has readiness and liveness probes on
// /ping at the port the API listens on.
func checkProbes(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	listen := flagValue(c.Args, "--listen")
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/ping" {
			t.Errorf("%s probe %+v: want GET /ping", name, p)
			continue
		}
		i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.String() })
		if i < 0 || !strings.HasSuffix(listen, ":"+strconv.Itoa(int(c.Ports[i].ContainerPort))) {
			t.Errorf("%s probe port %s is not the API's port (--listen=%s)", name, p.HTTPGet.Port.String(), listen)
		}
	}
}

func deployment(t *testing.T, objs []*unstructured.Unstructured, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	convert(t, find(objs, "Deployment", name), &d)
	if len(d.Spec.Template.Spec.Containers) != 1 || d.Spec.Selector == nil {
		t.Fatalf("Deployment %s: want one container and a selector", name)
	}
	return &d
}

func secretData(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]string {
	t.Helper()
	var s corev1.Secret
	convert(t, find(objs, "Secret", name), &s)
	return s.StringData
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func convert(t *testing.T, o *unstructured.Unstructured, into any) {
	t.Helper()
	if o == nil {
		t.Fatalf("no such object (%T)", into)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

func volume(d *appsv1.Deployment, name string) *corev1.Volume {
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// ptrOr returns *p, or def when p is nil (the API server's default).
func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
