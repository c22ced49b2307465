package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const modulePath = "github.com/kwhisk/kwhisk/"

var koRef = regexp.MustCompile(`ko://([A-Za-z0-9._/-]+)`)

// koRefs lists the import paths config/*.yaml references as ko://.
func koRefs(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range koRef.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// hasMain reports whether the package dir holds non-test Go files.
func hasMain(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

// TestKoResolveAndApply is `ko apply -f config/` offline: ko builds every
// ko:// main onto an empty base image (the real bases cannot be pulled
// here), pushes to a registry on loopback and resolves config/; the
// result is applied to the test API server, which must accept every
// object.
func TestKoResolveAndApply(t *testing.T) {
	h := needFake(t)
	tools := os.Getenv("KWHISK_KO_BIN")
	if tools == "" {
		t.Skip("no ko: set KWHISK_KO_BIN (make test-kube installs ko, crane and registry and sets it)")
	}
	refs, err := koRefs(filepath.Join(h.root, "config"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, ref := range refs {
		if !hasMain(filepath.Join(h.root, strings.TrimPrefix(ref, modulePath))) {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		t.Skipf("mains config/ references do not exist yet: %v", missing)
	}

	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	reg := exec.Command(filepath.Join(tools, "registry"), "-port", strconv.Itoa(port))
	var regLog bytes.Buffer
	reg.Stdout, reg.Stderr = &regLog, &regLog
	reg.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := reg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Process.Kill(); _ = reg.Wait() })
	registry := "127.0.0.1:" + strconv.Itoa(port)
	err = poll(context.Background(), 30*time.Second, func() (bool, error) {
		resp, err := http.Get("http://" + registry + "/v2/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("registry: %v\n%s", err, regLog.String())
	}

	// An empty base image: one empty layer on an empty image.
	empty := filepath.Join(dir, "empty.tar")
	if err := os.WriteFile(empty, make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	base := registry + "/base:latest"
	if out, err := exec.Command(filepath.Join(tools, "crane"), "append", "-f", empty, "-t", base, "--insecure").CombinedOutput(); err != nil {
		t.Fatalf("crane append: %v\n%s", err, out)
	}

	// The project's .ko.yaml with every base pointed at the empty one.
	b, err := os.ReadFile(filepath.Join(h.root, ".ko.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ko map[string]any
	if err := yaml.Unmarshal(b, &ko); err != nil {
		t.Fatal(err)
	}
	ko["defaultBaseImage"] = base
	overrides, _ := ko["baseImageOverrides"].(map[string]any)
	for k := range overrides {
		overrides[k] = base
	}
	b, err = yaml.Marshal(ko)
	if err != nil {
		t.Fatal(err)
	}
	koDir := filepath.Join(dir, "ko")
	if err := os.MkdirAll(koDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(koDir, ".ko.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cmd := exec.Command(filepath.Join(tools, "ko"), "resolve", "--insecure-registry", "-f", "config/")
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "KO_CONFIG_PATH="+koDir, "KO_DOCKER_REPO="+registry+"/kwhisk")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ko resolve: %v\n%s", err, stderr.String())
	}
	t.Logf("ko resolve built %d images in %s", len(refs), time.Since(start).Round(time.Second))
	objs, err := decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := json.Marshal(objs); bytes.Contains(j, []byte("ko://")) { // comments may still say ko://
		t.Errorf("ko resolve left ko:// references:\n%s", out)
	}
	images := imagesOf(objs)
	if len(images) != len(refs) {
		t.Errorf("resolved images %v; want one per ko:// reference %v", images, refs)
	}
	for _, img := range images {
		if !strings.HasPrefix(img, registry+"/kwhisk/") || !strings.Contains(img, "@sha256:") {
			t.Errorf("image %q is not a digest in the test registry", img)
		}
	}

	a, err := newApplier(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.apply(ctx, objs); err != nil {
		t.Fatalf("the API server refuses the resolved config/: %v", err)
	}
	dep, err := h.core.AppsV1().Deployments("kwhisk").Get(ctx, "kwhisk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "@sha256:") {
		t.Errorf("applied Deployment runs %q", img)
	}
	t.Logf("applied %s", kinds(objs))
}

// imagesOf collects the resolved image references: container images and
// the runtime ConfigMap's values.
func imagesOf(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					out = append(out, fmt.Sprint(m["image"]))
				}
			}
		case "ConfigMap":
			if o.GetName() != "kwhisk-runtimes" {
				continue
			}
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			for _, v := range data {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
