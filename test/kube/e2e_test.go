package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EOnKnative runs the e2e suite of test/e2e (the openwhisk npm
// client against real gateways) with every gateway it starts in knative
// mode on this cluster: the suite passes KWHISK_* settings through to the
// gateways it spawns, and its tests of one platform's own behaviour read
// KWHISK_PLATFORM too (lib/gateway.mjs's PLATFORM). KWHISK_KUBE_E2E
// selects test files (a comma list of names without .test.mjs); unset,
// all run.
func TestE2EOnKnative(t *testing.T) {
	h := needFake(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	e2e := filepath.Join(h.root, "test", "e2e")
	if _, err := os.Stat(filepath.Join(e2e, "node_modules", "openwhisk")); err != nil {
		t.Skip("test/e2e has no node_modules: run `make e2e-deps`")
	}
	if len(h.runtimes) == 0 {
		t.Skipf("no runtime mains (missing: %v)", h.missing)
	}
	runtimes := filepath.Join(t.TempDir(), "runtime-images")
	if err := os.MkdirAll(runtimes, 0o755); err != nil {
		t.Fatal(err)
	}
	for kind, image := range h.runtimes {
		if err := os.WriteFile(filepath.Join(runtimes, strings.Replace(kind, ":", "-", 1)), []byte(image), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig, err := h.cluster.kubeconfig("gateway-e2e", gatewayToken)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--test", "--test-concurrency=1"}
	if files := os.Getenv("KWHISK_KUBE_E2E"); files != "" {
		for _, f := range strings.Split(files, ",") {
			args = append(args, f+".test.mjs")
		}
	} else {
		files, err := filepath.Glob(filepath.Join(e2e, "*.test.mjs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			args = append(args, filepath.Base(f))
		}
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(),
		"KWHISK_BIN="+h.kwhisk,
		"KWHISK_PLATFORM=knative",
		"KWHISK_KUBECONFIG="+kubeconfig,
		"KWHISK_KUBE_NAMESPACE="+actionsNamespace,
		"KWHISK_RUNTIMES_DIR="+runtimes,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("e2e suite on knative: %v\n%s\n%s", err, failures(string(out)), tail(string(out), 8))
		return
	}
	t.Logf("e2e suite on knative:\n%s", tail(string(out), 12))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// failures returns each "not ok" line of TAP output s with the details
// after it.
func failures(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for i, l := range lines {
		if strings.Contains(l, "not ok") {
			out = append(out, lines[i:min(i+30, len(lines))]...)
		}
	}
	return strings.Join(out, "\n")
}
