package kubetest

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Knative Serving's own installation, as the real tier applies it: the
// YAML of config/core in the knative.dev/serving module (and the CRDs it
// needs from knative.dev/networking and knative.dev/caching), changed
// only where this machine differs from a cluster. Every change is made
// here, in code, so a reader sees all of them in one place.

// ingressClass is the KIngress class the test ingress implements.
const ingressClass = "kwhisk.test.ingress"

// queueImage is the image name config-deployment gives queue-proxy; the
// pod runner maps it to the built cmd/queue. Its registry is one Knative
// does not resolve tags for, like kwhisk.test's runtime images.
const queueImage = "kwhisk.test/knative/queue"

// servingComponents are Knative Serving's Deployments, by the image their
// pods run (ko:// import paths, mapped by the pod runner to the binaries
// third_party/knative.sh built).
var servingComponents = []string{"controller", "webhook", "autoscaler", "activator"}

// servingConfig are the ConfigMap entries the real tier sets over
// Knative's defaults, and why.
var servingConfig = map[string]map[string]string{
	"config-deployment": {
		"queue-sidecar-image": queueImage,
		// No registry to resolve digests from: images run as mapped.
		"registries-skipping-tag-resolving": "kwhisk.test,ko.local,dev.local",
		// A pod's requests are bookkeeping here; keep them small so the
		// registered node admits a burst's pods.
		"queue-sidecar-cpu-request":    "10m",
		"queue-sidecar-memory-request": "20Mi",
	},
	"config-network": {
		"ingress-class": ingressClass,
		// Pods are reachable at their own addresses in the lab: the
		// activator need not fall back to a revision's ClusterIP, which
		// nothing here routes.
		"mesh-compatibility-mode": "disabled",
	},
	"config-autoscaler": {
		// kwhisk creates Services with initial-scale 0 (config/), which
		// Knative admits only when allowed.
		"allow-zero-initial-scale": "true",
		// The shortest windows Knative accepts, so a test sees scale to
		// zero within seconds.
		"stable-window":                      "6s",
		"scale-to-zero-grace-period":         "3s",
		"scale-to-zero-pod-retention-period": "0s",
		// A cluster's own bound on max-scale, which kwhisk's in-process
		// validation does not know: the webhook alone refuses beyond it.
		"max-scale":       "30",
		"max-scale-limit": "30",
	},
}

// servingSkipped are the objects of config/core the real tier does not
// apply: HorizontalPodAutoscalers need a metrics server this harness
// does not run (one replica of each component is enough).
func servingSkipped(o *unstructured.Unstructured) bool {
	return o.GetKind() == "HorizontalPodAutoscaler" || o.GetKind() == "PodDisruptionBudget"
}

// moduleDir is a module of the build list in the module cache,
// downloaded when only its go.mod was (knative.dev/caching: its CRD is
// needed, none of its packages).
func moduleDir(path string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", path, err)
	}
	out, err = exec.Command("go", "mod", "download", "-json", path+"@"+strings.TrimSpace(string(out))).Output()
	if err != nil {
		return "", fmt.Errorf("download %s: %w", path, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("download %s: %v %s", path, err, m.Error)
	}
	return m.Dir, nil
}

// servingModules are the module directories Knative Serving's
// installation is read from. TestMain asks once before it enters the lab,
// which has no network, so a fresh module cache gets them from the proxy.
func servingModules() (serving, networking, caching string, err error) {
	if serving, err = moduleDir("knative.dev/serving"); err != nil {
		return "", "", "", err
	}
	if networking, err = moduleDir("knative.dev/networking"); err != nil {
		return "", "", "", err
	}
	if caching, err = moduleDir("knative.dev/caching"); err != nil {
		return "", "", "", err
	}
	return serving, networking, caching, nil
}

// servingObjects returns Knative Serving's installation in apply order:
// CRDs first (then wait for them), then namespaces, accounts, roles,
// ConfigMaps and the certificate, then the Deployments and Services, and
// the webhook configurations last, once the webhook can answer them.
func servingObjects() (crds, config, deployments, webhooks []*unstructured.Unstructured, err error) {
	serving, networking, caching, err := servingModules()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	core := filepath.Join(serving, "config", "core")
	read := func(dirs ...string) ([]*unstructured.Unstructured, error) {
		var all []*unstructured.Unstructured
		for _, d := range dirs {
			objs, err := readYAMLDir(d)
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				if !servingSkipped(o) {
					all = append(all, o)
				}
			}
		}
		return all, nil
	}
	if crds, err = read(filepath.Join(core, "300-resources"), filepath.Join(networking, "config"), filepath.Join(caching, "config")); err != nil {
		return nil, nil, nil, nil, err
	}
	// networking's config/ holds config-network beside its CRDs.
	var onlyCRDs []*unstructured.Unstructured
	for _, o := range crds {
		if o.GetKind() == "CustomResourceDefinition" {
			onlyCRDs = append(onlyCRDs, o)
		} else {
			config = append(config, o)
		}
	}
	crds = onlyCRDs
	rest, err := read(core, filepath.Join(core, "200-roles"), filepath.Join(core, "configmaps"))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if deployments, err = read(filepath.Join(core, "deployments")); err != nil {
		return nil, nil, nil, nil, err
	}
	if webhooks, err = read(filepath.Join(core, "webhooks")); err != nil {
		return nil, nil, nil, nil, err
	}
	// The webhook's Secret is filled by the webhook itself; apply it with
	// the configuration, before the webhook starts.
	for i := 0; i < len(webhooks); {
		if webhooks[i].GetKind() == "Secret" {
			config = append(config, webhooks[i])
			webhooks = append(webhooks[:i], webhooks[i+1:]...)
			continue
		}
		i++
	}
	config = append(rest, config...)
	for _, o := range config {
		if o.GetKind() != "ConfigMap" {
			continue
		}
		for k, v := range servingConfig[o.GetName()] {
			if err := unstructured.SetNestedField(o.Object, v, "data", k); err != nil {
				return nil, nil, nil, nil, fmt.Errorf("set %s of %s: %w", k, o.GetName(), err)
			}
		}
	}
	return crds, config, deployments, webhooks, nil
}

// TestServingObjects checks the installation read from Knative's modules:
// every component's Deployment, the three webhook configurations, and
// the settings of servingConfig in place. It needs no cluster.
func TestServingObjects(t *testing.T) {
	crds, config, deployments, webhooks, err := servingObjects()
	if err != nil {
		t.Fatal(err)
	}
	names := func(objs []*unstructured.Unstructured, kind string) map[string]bool {
		m := map[string]bool{}
		for _, o := range objs {
			if o.GetKind() == kind {
				m[o.GetName()] = true
			}
		}
		return m
	}
	for _, c := range servingComponents {
		if !names(deployments, "Deployment")[c] {
			t.Errorf("no Deployment %s in config/core", c)
		}
	}
	if n := len(names(webhooks, "ValidatingWebhookConfiguration")) + len(names(webhooks, "MutatingWebhookConfiguration")); n != 3 {
		t.Errorf("%d webhook configurations, want 3", n)
	}
	for _, want := range []string{"services.serving.knative.dev", "ingresses.networking.internal.knative.dev", "images.caching.internal.knative.dev"} {
		if !names(crds, "CustomResourceDefinition")[want] {
			t.Errorf("no CRD %s", want)
		}
	}
	seen := 0
	for _, o := range config {
		if o.GetKind() != "ConfigMap" {
			continue
		}
		for k, v := range servingConfig[o.GetName()] {
			got, _, _ := unstructured.NestedString(o.Object, "data", k)
			if got != v {
				t.Errorf("%s %s = %q, want %q", o.GetName(), k, got, v)
			}
			seen++
		}
	}
	want := 0
	for _, m := range servingConfig {
		want += len(m)
	}
	if seen != want {
		t.Errorf("%d of the %d settings found their ConfigMap", seen, want)
	}
	if !names(config, "Secret")["webhook-certs"] {
		t.Error("the webhook's Secret is not applied with the configuration")
	}
}
