package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKnativeFlags(t *testing.T) {
	c, err := Parse([]string{"--platform", "knative", "--runtimes-dir", "/etc/kwhisk/runtimes", "--namespace-per-ow-namespace"},
		env(map[string]string{
			"KWHISK_KUBECONFIG":  "/home/me/.kube/config",
			"KWHISK_ANNOTATIONS": "autoscaling.knative.dev/initial-scale=0, autoscaling.knative.dev/max-scale=10",
		}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"autoscaling.knative.dev/initial-scale": "0", "autoscaling.knative.dev/max-scale": "10"}
	if diff := cmp.Diff(want, c.Annotations); diff != "" {
		t.Errorf("annotations (-want, +got):\n%s", diff)
	}
	if c.Kubeconfig != "/home/me/.kube/config" || c.KubeNamespace != "kwhisk-actions" || !c.NamespacePerOWNamespace || c.RuntimesDir != "/etc/kwhisk/runtimes" {
		t.Errorf("knative settings = %q %q %v %q", c.Kubeconfig, c.KubeNamespace, c.NamespacePerOWNamespace, c.RuntimesDir)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "knative"}, "--runtimes-dir"},
		{[]string{"--platform", "knative", "--runtimes-dir", "d", "--kube-namespace", "Not_A_Name"}, "--kube-namespace"},
		{[]string{"--annotations", "novalue"}, "annotations"},
	} {
		_, err := Parse(tt.args, env(nil))
		if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%v) = %v, want a one-line usage error naming %q", tt.args, err, tt.want)
		}
	}
}
