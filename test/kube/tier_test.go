package kubetest

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	netclient "knative.dev/networking/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/test/kube/ingress"
	"github.com/kwhisk/kwhisk/test/kube/lab"
	"github.com/kwhisk/kwhisk/test/kube/podrunner"
)

// dockerImage is the image --docker actions of the real tier name.
const dockerImage = "kwhisk.test/docker-skeleton"

// servingNamespace is Knative Serving's system namespace.
const servingNamespace = "knative-serving"

// slowStart is how long the pod runner holds the containers of the
// "slow" runtime images, standing for an image pull on a real node.
const slowStart = 15 * time.Second

// servingTier is the real tier: Knative Serving's own controller,
// webhook, autoscaler and activator, and queue-proxy as every revision
// pod's sidecar, against the harness's API server, with
// kube-controller-manager. Three stand-ins replace what needs a node and
// a network: the pod runner (kubelet and scheduler), the test ingress
// (Envoy behind a KIngress, and kube-proxy) and dnsmasq (cluster DNS);
// see their packages.
type servingTier struct {
	lab     *lab.Lab
	ingress *ingress.Ingress
	pods    *podrunner.Runner
	cancel  context.CancelFunc
	done    chan struct{} // closed when the pod runner has stopped its pods
	logs    string        // the pods' logs
	// slowImages maps each runtime image to its slow twin.
	slowImages map[string]string
}

// startServing starts the real tier in l and returns once Knative's
// components run and its webhook is admitting.
func startServing(ctx context.Context, h *harness, l *lab.Lab, kubeBin, knativeBin string, binaries map[string]string) (*servingTier, error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	s := &servingTier{lab: l, cancel: cancel, done: make(chan struct{}), logs: filepath.Join(h.dir, "pods"), slowImages: map[string]string{}}
	fail := func(err error) (*servingTier, error) {
		s.stop()
		return nil, err
	}
	for _, d := range []string{s.logs, filepath.Join(h.dir, "dns")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := h.cluster.startControllerManager(kubeBin); err != nil {
		return fail(err)
	}
	fmt.Fprintln(os.Stderr, "component kube-controller-manager k8s.io/kubernetes v1.34.3 started")

	ip := l.IP().String()
	if _, err := ingress.DNS(ctx, ingress.DNSConfig{IP: ip, Dir: filepath.Join(h.dir, "dns")}); err != nil {
		return fail(fmt.Errorf("cluster DNS: %w", err))
	}
	quiet := rest.CopyConfig(h.admin)
	quiet.WarningHandler = rest.NoWarnings{}
	kube, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		return fail(err)
	}
	nc, err := netclient.NewForConfig(quiet)
	if err != nil {
		return fail(err)
	}
	images := map[string]podrunner.Image{queueImage: {Binary: filepath.Join(knativeBin, "queue")}}
	for _, c := range servingComponents {
		images["ko://knative.dev/serving/cmd/"+c] = podrunner.Image{Binary: filepath.Join(knativeBin, c)}
	}
	for image, bin := range binaries {
		images[image] = podrunner.Image{Binary: bin}
		if !strings.HasPrefix(image, "kwhisk.test/") {
			continue // another component's image (Knative Eventing's)
		}
		slow := strings.Replace(image, "kwhisk.test/", "kwhisk.test/slow/", 1)
		images[slow] = podrunner.Image{Binary: bin, StartDelay: slowStart}
		s.slowImages[image] = slow
	}
	// An OpenWhisk docker-skeleton image for --docker actions: the native
	// runtime main in classic mode (no KWHISK_ACTION), /init then /run.
	if native, ok := binaries["kwhisk.test/runtime-native"]; ok {
		images[dockerImage] = podrunner.Image{Binary: native}
	}
	s.pods = podrunner.New(podrunner.Config{
		Rest: h.admin, NodeName: "kwhisk-lab", Lab: l, Images: images,
		Trusted: []string{servingNamespace, eventingNamespace}, APIServer: h.cluster.url,
		Accounts: map[string]string{eventingNamespace + "/eventing-controller": eventingControllerToken},
		LogsDir:  s.logs, WorkDir: filepath.Join(h.dir, "pods-work"), MaxProbePeriod: time.Second,
	})
	go func() {
		defer close(s.done)
		if err := s.pods.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "kube harness: pod runner:", err)
		}
	}()

	crds, config, deployments, webhooks, err := servingObjects()
	if err != nil {
		return fail(err)
	}
	a, err := newApplier(quiet)
	if err != nil {
		return fail(err)
	}
	if err := a.apply(ctx, crds); err != nil {
		return fail(err)
	}
	if err := a.waitEstablished(ctx, crds); err != nil {
		return fail(err)
	}
	// The ingress watches Knative's Ingress CRD: it starts once that exists.
	ingLog, err := os.Create(filepath.Join(h.dir, "ingress.log"))
	if err != nil {
		return fail(err)
	}
	// 80 for routes and Service hosts; the Service ports Knative's
	// components call by name: the autoscaler's websocket (8080) and
	// scrapes through a revision's private Service (9090).
	var listen []string
	for _, p := range []string{"80", "8080", "9090", "8012"} {
		listen = append(listen, net.JoinHostPort(ip, p))
	}
	if s.ingress, err = ingress.Start(ctx, ingress.Config{Kube: kube, Networking: nc, Listen: listen, Log: log.New(ingLog, "", log.Lmicroseconds)}); err != nil {
		return fail(fmt.Errorf("test ingress: %w", err))
	}

	if err := a.apply(ctx, config); err != nil {
		return fail(err)
	}
	if err := a.apply(ctx, deployments); err != nil {
		return fail(err)
	}
	if err := s.waitComponents(ctx, kube); err != nil {
		return fail(err)
	}
	if err := a.apply(ctx, webhooks); err != nil {
		return fail(err)
	}
	if err := waitCABundles(ctx, kube); err != nil {
		return fail(err)
	}
	for _, c := range append(servingComponents, "queue") {
		fmt.Fprintf(os.Stderr, "component %s knative.dev/serving %s started\n", c, moduleVersion(filepath.Join(knativeBin, c), "knative.dev/serving"))
	}
	fmt.Fprintf(os.Stderr, "kube harness: Knative Serving ready in %s (logs in %s)\n", time.Since(start).Round(time.Millisecond), s.logs)
	return s, nil
}

// waitComponents waits until a pod of every component is Ready.
func (s *servingTier) waitComponents(ctx context.Context, kube kubernetes.Interface) error {
	var missing []string
	err := poll(ctx, 3*time.Minute, func() (bool, error) {
		pods, err := kube.CoreV1().Pods(servingNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := map[string]bool{}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready[p.Labels["app"]] = true
				}
			}
		}
		missing = missing[:0]
		for _, c := range servingComponents {
			if !ready[c] {
				missing = append(missing, c)
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("Knative components not ready (%v; pod logs in %s): %w", missing, s.logs, err)
	}
	return nil
}

// waitCABundles waits until Knative's certificate controller has filled
// in the caBundle of every webhook it serves: only then does the API
// server admit Knative objects. The first start has been seen to stall
// about a minute on a lease call.
func waitCABundles(ctx context.Context, kube kubernetes.Interface) error {
	err := poll(ctx, 3*time.Minute, func() (bool, error) {
		v, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		m, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var hooks []admissionv1.WebhookClientConfig
		for _, c := range v.Items {
			for _, w := range c.Webhooks {
				hooks = append(hooks, w.ClientConfig)
			}
		}
		for _, c := range m.Items {
			for _, w := range c.Webhooks {
				hooks = append(hooks, w.ClientConfig)
			}
		}
		for _, h := range hooks {
			if len(h.CABundle) == 0 {
				return false, nil
			}
		}
		return len(hooks) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("Knative's webhook certificates: %w", err)
	}
	return nil
}

// moduleVersion is the version of module path linked into the binary.
func moduleVersion(bin, path string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown"
	}
	if bi.Main.Path == path {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return "unknown"
}

// stop ends the tier's parts and waits for the pod runner to have
// stopped its pods.
func (s *servingTier) stop() {
	s.cancel()
	if s.pods != nil {
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
		}
	}
}
