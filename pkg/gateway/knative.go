package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/pkg/brokers"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/metrics"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/run"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// knativeMode is what --platform knative adds to the gateway: the
// platform (which hears of action writes through the entity collection,
// as every platform does), the Knative Eventing subscriber, and the
// stored actions the reconcile at start lists.
type knativeMode struct {
	p          *knative.Platform
	subscriber *brokers.Subscriber
	actions    storeActions
	core       kubernetes.Interface
	leaseNS    string // where the alarms Lease lives
	log        *slog.Logger
}

// newKnativeMode connects to the cluster and builds the platform over the
// actions in st.
func newKnativeMode(cfg config.Config, st store.Store, log *slog.Logger) (*knativeMode, error) {
	// client-go logs through klog: its events join the gateway's log,
	// in the same JSON lines, instead of klog's own text format.
	klog.SetSlogLogger(log)
	rc, err := kube.Config(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	serving, err := servingclient.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("knative serving client: %w", err)
	}
	watch, err := servingclient.NewForConfig(kube.WatchConfig(rc))
	if err != nil {
		return nil, fmt.Errorf("knative serving client: %w", err)
	}
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	eventing, err := eventingclient.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("knative eventing client: %w", err)
	}
	images, err := readRuntimes(cfg.RuntimesDir)
	if err != nil {
		return nil, err
	}
	key, err := knative.LoadKey(filepath.Join(cfg.DataDir, "code.key"))
	if err != nil {
		return nil, err
	}
	watchCore, err := kubernetes.NewForConfig(kube.WatchConfig(rc))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kube.RequestTimeout)
	defer cancel()
	runKeys, err := knative.LoadRunKeys(ctx, core, watchCore, cfg.KubeNamespace, log)
	if err != nil {
		return nil, err
	}
	namespaces := kube.Namespaces{Base: cfg.KubeNamespace, PerNamespace: cfg.NamespacePerOWNamespace}
	p, err := knative.New(knative.Options{
		Serving: serving, Watch: watch, Kube: core, Namespaces: namespaces, Images: images, APIHost: cfg.APIHost,
		Annotations: cfg.Annotations, Actions: storeActions{st}, CodeKey: key, RunKeys: runKeys, Log: log,
	})
	if err != nil {
		return nil, err
	}
	return &knativeMode{
		p: p, subscriber: brokers.New(eventing, namespaces, cfg.BlockingWait), actions: storeActions{st}, core: core, leaseNS: cfg.KubeNamespace, log: log,
	}, nil
}

// readRuntimes reads the runtime images: one file per kind, named
// <family>-<version> for kind <family>:<version> (ConfigMap keys cannot
// hold ':'), or "blackbox", holding the image reference. Hidden entries
// (a mounted ConfigMap's ..data) are skipped.
func readRuntimes(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read runtime images: %w", err)
	}
	images := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read runtime image: %w", err)
		}
		image := strings.TrimSpace(string(b))
		if image == "" {
			continue
		}
		kind := strings.Replace(name, "-", ":", 1)
		images[kind] = image
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("no runtime images in %s", dir)
	}
	return images, nil
}

// storeActions is the action store as the platform's code route reads
// it, and as the reconcile at start lists it.
type storeActions struct{ st store.Store }

func (s storeActions) GetAction(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error) {
	doc, err := s.st.GetEntity(ctx, path.Parent(), path.Name)
	if err != nil {
		return nil, err
	}
	if doc.Collection != store.Actions {
		return nil, whisk.NotFound()
	}
	return decodeAction(doc)
}

// ListActions returns every stored action of every namespace but the
// catalog's, as the platform sees them.
func (s storeActions) ListActions(ctx context.Context) ([]*platform.Action, error) {
	nss, err := s.st.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []*platform.Action
	for _, ns := range nss {
		if ns.Name == events.CatalogNamespace {
			// The catalog's actions get a Service on their first invoke
			// (Run makes a missing one) and none at start: an unused
			// catalog costs the cluster nothing. Reconcile deletes the
			// Services earlier invokes made; the next invoke makes one.
			continue
		}
		docs, _, err := s.st.ListEntities(ctx, store.ListQuery{Collection: store.Actions, Namespace: ns.Name, WithPackages: true})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			a, err := decodeAction(d)
			if err != nil {
				return nil, err
			}
			out = append(out, platform.ActionOf(a))
		}
	}
	return out, nil
}

func decodeAction(doc *store.Document) (*whisk.Action, error) {
	a := new(whisk.Action)
	if err := json.Unmarshal(doc.Body, a); err != nil {
		return nil, fmt.Errorf("decode action %s/%s: %w", doc.Namespace, doc.Name, err)
	}
	return a, nil
}

func (k *knativeMode) platform() controlplane.Platform { return k.p }

// options gives the control plane the code route's source (the runtime
// images fetch action code from the gateway) and the broker subscriber.
func (k *knativeMode) options(o *controlplane.Options) {
	o.Code, o.Subscriber = k.p, k.subscriber
}

// close has nothing to release: the platform's parts end with the group.
func (k *knativeMode) close() {}

func (k *knativeMode) observe(m *metrics.Metrics) {
	m.WatchKnativeServices(func() metrics.ServiceReadiness {
		ready, notReady, unknown := k.p.Readiness()
		return metrics.ServiceReadiness{Ready: ready, NotReady: notReady, Unknown: unknown}
	})
}

// start adds to g the Service watch and the reconcile (once).
func (k *knativeMode) start(g *run.Group) {
	g.Add("knative", func(ctx context.Context) error {
		if err := k.p.Start(ctx); err != nil {
			k.log.Error("knative platform stopped", logging.Err(err))
		}
		return nil
	}, nil)
	g.Add("reconcile", func(ctx context.Context) error {
		if err := k.reconcile(ctx); err != nil {
			k.log.Error("reconcile Services with actions", logging.Err(err))
		} else {
			k.log.Info("reconciled Services with actions")
		}
		return nil
	}, nil)
}

// reconcile lists the stored actions and has the platform bring the
// Services in step with them.
func (k *knativeMode) reconcile(ctx context.Context) error {
	actions, err := k.actions.ListActions(ctx)
	if err != nil {
		return fmt.Errorf("list actions: %w", err)
	}
	return k.p.Reconcile(ctx, actions)
}

// runAlarms runs the alarm scheduler only while this replica holds the "kwhisk-alarms" Lease, so with
// several gateway replicas exactly one fires.
func (k *knativeMode) runAlarms(ctx context.Context, run func(context.Context) error) error {
	host, _ := os.Hostname() // the pod name; uniqueness comes from the suffix
	return kube.WhileLeading(ctx, kube.Election{
		Client: k.core, Namespace: k.leaseNS, Lease: "kwhisk-alarms", Identity: host + "-" + string(whisk.NewActivationID())[:8],
	}, func(lctx context.Context) {
		if err := run(lctx); err != nil {
			k.log.Error("alarm scheduler stopped", logging.Err(err))
		}
	})
}
