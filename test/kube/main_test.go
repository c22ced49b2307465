package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/runtimes"
	"github.com/kwhisk/kwhisk/test/kube/lab"
)

// harness is the cluster every test of the package shares; nil when
// KWHISK_KUBE_BIN is not set.
var env *harness

type harness struct {
	dir     string
	root    string // the repository
	cluster *cluster
	admin   *rest.Config
	gateway *rest.Config // the gateway's service account
	serving servingclient.Interface
	core    kubernetes.Interface
	knative *fakeKnative // the fake tier's stand-in for Knative; nil in the real tier
	real    *servingTier // the real tier: Knative Serving's own components; nil in the fake tier
	// eventing is set when the real tier runs Knative Eventing too.
	eventing bool
	kwhisk   string // gateway binary
	// listen is the address the gateway listens on: loopback in the fake
	// tier, the lab's bridge in the real one (pods fetch code from it).
	listen string

	// runtimes maps the kinds of the runtime mains that exist (nodejs:20,
	// python:3.11 …) to their images; missing lists the mains absent.
	runtimes map[string]string
	missing  []string
}

// actionsNamespace is the namespace of action Services in config/.
const actionsNamespace = "kwhisk-actions"

// fakeKind is the kind the gateway tests run on the fake runtime.
const fakeKind = "fake:1"

// TestMain starts the harness the environment asks for: none without
// KWHISK_KUBE_BIN; the fake tier (a stand-in for Knative written for the
// test) with it; the real tier (Knative Serving's own components, in a
// network namespace of the run's own) when KWHISK_KNATIVE_BIN names the
// built Knative binaries too, with Knative Eventing's components when
// KWHISK_EVENTING_BIN names theirs.
func TestMain(m *testing.M) {
	bin := os.Getenv("KWHISK_KUBE_BIN")
	if bin == "" {
		os.Exit(m.Run())
	}
	knativeBin := os.Getenv("KWHISK_KNATIVE_BIN")
	if knativeBin != "" && !lab.Inside() {
		if _, _, _, err := servingModules(); err != nil {
			fmt.Fprintln(os.Stderr, "kube harness:", err)
			os.Exit(1)
		}
		if _, err := moduleDir("knative.dev/eventing"); err != nil {
			fmt.Fprintln(os.Stderr, "kube harness:", err)
			os.Exit(1)
		}
		code, err := lab.Enter()
		if err != nil {
			fmt.Fprintln(os.Stderr, "kube harness:", err)
			os.Exit(1)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := setup(ctx, bin, knativeBin, os.Getenv("KWHISK_EVENTING_BIN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube harness:", err)
		if h != nil {
			h.teardown(cancel)
		}
		os.Exit(1)
	}
	env = h
	code := m.Run()
	h.teardown(cancel)
	os.Exit(code)
}

func setup(ctx context.Context, bin, knativeBin, eventingBin string) (*harness, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "kwhisk-kube-")
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	h := &harness{dir: dir, root: root, runtimes: map[string]string{}, listen: "127.0.0.1"}
	opts := clusterOptions{bin: bin, dir: dir}
	var l *lab.Lab
	if knativeBin != "" {
		if l, err = lab.Current(); err != nil {
			return h, err
		}
		h.listen = l.IP().String()
		opts.advertise = h.listen
	}
	if h.cluster, err = startCluster(ctx, opts); err != nil {
		return h, err
	}
	h.admin, h.gateway = h.cluster.config(adminToken), h.cluster.config(gatewayToken)
	if h.serving, err = servingclient.NewForConfig(h.admin); err != nil {
		return h, err
	}
	if h.core, err = kubernetes.NewForConfig(h.admin); err != nil {
		return h, err
	}
	fmt.Fprintf(os.Stderr, "kube harness: API server ready in %s (state in %s)\n", time.Since(start).Round(time.Millisecond), dir)

	if err := h.install(ctx); err != nil {
		return h, err
	}
	binaries, err := h.build(ctx)
	if err != nil {
		return h, err
	}
	out, err := exec.CommandContext(ctx, "go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN").Output()
	if err != nil {
		return h, fmt.Errorf("go env: %w", err)
	}
	goenv := map[string]string{}
	if err := json.Unmarshal(out, &goenv); err != nil {
		return h, fmt.Errorf("go env: %w", err)
	}
	if l != nil {
		images := map[string]string{}
		for k, v := range binaries {
			images[k] = v
		}
		if eventingBin != "" {
			for k, v := range eventingImages(eventingBin) {
				images[k] = v
			}
		}
		if h.real, err = startServing(ctx, h, l, bin, knativeBin, images); err != nil {
			return h, err
		}
		if eventingBin != "" {
			if err := startEventing(ctx, h, h.real, eventingBin); err != nil {
				return h, err
			}
			h.eventing = true
		}
	} else {
		h.knative = newFakeKnative(h.serving, binaries, goenv, dir)
		go h.knative.run(ctx)
	}
	fmt.Fprintf(os.Stderr, "kube harness: ready in %s; runtime mains missing: %v\n", time.Since(start).Round(time.Millisecond), h.missing)
	return h, nil
}

// install applies Knative Serving's and Eventing's CRDs from their
// modules, and config/.
func (h *harness) install(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "knative.dev/serving").Output()
	if err != nil {
		return fmt.Errorf("find knative.dev/serving: %w", err)
	}
	crds, err := readYAMLDir(filepath.Join(strings.TrimSpace(string(out)), "config", "core", "300-resources"))
	if err != nil {
		return err
	}
	ev, err := eventingCRDs()
	if err != nil {
		return err
	}
	crds = append(crds, ev...)
	a, err := newApplier(h.admin)
	if err != nil {
		return err
	}
	if err := a.apply(ctx, crds); err != nil {
		return err
	}
	if err := a.waitEstablished(ctx, crds); err != nil {
		return err
	}
	cfg, err := readYAMLDir(filepath.Join(h.root, "config"))
	if err != nil {
		return err
	}
	return a.apply(ctx, cfg)
}

// build compiles the gateway and the runtime mains that exist; it maps
// each runtime's image to its binary.
func (h *harness) build(ctx context.Context) (map[string]string, error) {
	bins := filepath.Join(h.dir, "bin")
	h.kwhisk = filepath.Join(bins, "kwhisk")
	targets := [][2]string{{h.kwhisk, "./cmd/kwhisk"}}
	binaries := map[string]string{}
	// Each family's default image (its oldest kind), from the registry.
	for _, f := range runtimes.Families() {
		im := f.Images[0]
		if _, err := os.Stat(filepath.Join(h.root, "runtimes", im.Main, "main.go")); err != nil {
			h.missing = append(h.missing, "runtimes/"+im.Main)
			continue
		}
		image := "kwhisk.test/runtime-" + f.Dir
		out := filepath.Join(bins, "runtime-"+f.Dir)
		targets = append(targets, [2]string{out, "./runtimes/" + im.Main})
		binaries[image] = out
		h.runtimes[im.Kind] = image
	}
	for _, t := range targets {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t[0], t[1])
		cmd.Dir = h.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", t[1], err, out)
		}
	}
	return binaries, nil
}

func (h *harness) teardown(cancel context.CancelFunc) {
	cancel()
	if h.real != nil {
		h.real.stop()
	}
	if h.cluster != nil {
		h.cluster.stop()
	}
	if os.Getenv("KWHISK_KUBE_KEEP") == "" {
		_ = os.RemoveAll(h.dir)
	}
}

// need returns the harness, or skips the test (or benchmark) without one.
func need(t testing.TB) *harness {
	t.Helper()
	if env == nil {
		t.Skip("no API server: set KWHISK_KUBE_BIN (make test-kube builds and sets it)")
	}
	return env
}

// needFake returns the harness of the fake tier, or skips: the test
// drives or inspects the stand-in for Knative itself.
func needFake(t testing.TB) *harness {
	t.Helper()
	h := need(t)
	if h.knative == nil {
		t.Skip("the fake tier's test: this run has real Knative (make test-kube-fake runs the fake tier)")
	}
	return h
}

// needReal returns the harness of the real tier, or skips.
func needReal(t testing.TB) *harness {
	t.Helper()
	h := need(t)
	if h.real == nil {
		t.Skip("no real Knative: set KWHISK_KNATIVE_BIN (make test-serving builds and sets it)")
	}
	return h
}
