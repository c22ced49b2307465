package kubetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kwhisk/kwhisk/pkg/config"
)

// TestConfigExample parses the _example block of the gateway's ConfigMap
// and the settings above it as the gateway does (KWHISK_* environment
// from envFrom), so every documented key is a real setting with a valid
// value. It needs no cluster.
func TestConfigExample(t *testing.T) {
	objs, err := readYAMLDir("../../config")
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "config-kwhisk" {
			data, _ = o.Object["data"].(map[string]any)
		}
	}
	if data == nil {
		t.Fatal("config/ has no ConfigMap config-kwhisk")
	}
	example, _ := data["_example"].(string)
	var documented map[string]string
	if err := yaml.Unmarshal([]byte(example), &documented); err != nil || len(documented) == 0 {
		t.Fatalf("_example is not a YAML map of settings: %v", err)
	}

	parse := func(t *testing.T, env map[string]string) config.Config {
		t.Helper()
		c, err := config.Parse([]string{"--platform", "knative", "--runtimes-dir", "/etc/kwhisk/runtimes"},
			func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("the gateway refuses %v: %v", env, err)
		}
		return c
	}
	for k, v := range documented {
		if !strings.HasPrefix(k, "KWHISK_") {
			t.Errorf("_example key %q is not a KWHISK_ setting", k)
			continue
		}
		// Each value alone, so a key the gateway does not know is caught:
		// Parse ignores unknown variables, so compare with the defaults.
		c := parse(t, map[string]string{k: v})
		if v != "" && cmp.Equal(c, parse(t, nil)) && !isDefault(k, v) {
			t.Errorf("_example %s=%q changes nothing: not a setting of the gateway", k, v)
		}
	}
	set := map[string]string{}
	for k, v := range data {
		if k == "_example" {
			continue
		}
		s, _ := v.(string)
		set[k] = s
		if _, ok := documented[k]; !ok {
			t.Errorf("setting %s is not documented in _example", k)
		}
	}
	c := parse(t, set)
	if c.APIHost != "http://kwhisk.kwhisk.svc.cluster.local" || c.Annotations["autoscaling.knative.dev/initial-scale"] != "0" {
		t.Errorf("shipped settings parsed to api host %q, annotations %v", c.APIHost, c.Annotations)
	}
}

// isDefault reports whether an _example value is the gateway's default
// (documented, so it changes nothing).
func isDefault(k, v string) bool {
	d := config.Default()
	switch k {
	case "KWHISK_KUBE_NAMESPACE":
		return v == d.KubeNamespace
	case "KWHISK_NAMESPACE_PER_OW_NAMESPACE":
		return v == "false"
	case "KWHISK_BLOCKING_WAIT":
		return v == d.BlockingWait.String() || v == "60s"
	case "KWHISK_DRAIN_TIMEOUT":
		return v == "30s"
	}
	return false
}

// TestKoYAML checks .ko.yaml names a base image for every runtime main
// config/ references.
func TestKoYAML(t *testing.T) {
	b, err := os.ReadFile("../../.ko.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ko struct {
		DefaultBaseImage   string            `json:"defaultBaseImage"`
		BaseImageOverrides map[string]string `json:"baseImageOverrides"`
	}
	if err := yaml.UnmarshalStrict(b, &ko); err != nil {
		t.Fatalf(".ko.yaml: %v", err)
	}
	refs, err := koRefs(filepath.Join("..", "..", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if strings.Contains(ref, "/runtimes/") && ko.BaseImageOverrides[ref] == "" {
			t.Errorf("runtime %s has no base image in .ko.yaml", ref)
		}
	}
	if len(refs) == 0 || ko.DefaultBaseImage == "" {
		t.Errorf("config/ references %v, default base %q", refs, ko.DefaultBaseImage)
	}
}
