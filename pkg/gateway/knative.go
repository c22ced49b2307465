package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/eventing"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/run"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// knativeMode is what --platform knative adds to the gateway: the
// platform, the Knative Eventing subscriber, and the store hook that keeps
// Services in step with action writes. A nil *knativeMode is local mode.
type knativeMode struct {
	platform   *knative.Platform
	subscriber *eventing.Subscriber
	core       kubernetes.Interface
	leaseNS    string // where the alarms Lease lives
	logf       func(string, ...any)
	writes     writes
}

// writes are the Service writes that follow store writes, in the
// background: accepted between start and the end of its context.
type writes struct {
	mu     sync.Mutex
	ctx    context.Context // nil until start
	closed bool
	wg     sync.WaitGroup
}

// newKnativeMode connects to the cluster and builds the platform over the
// actions in st.
func newKnativeMode(cfg config.Config, st store.Store, logf func(string, ...any)) (*knativeMode, error) {
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
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	images, err := readRuntimes(cfg.RuntimesDir)
	if err != nil {
		return nil, err
	}
	key, err := knative.LoadKey(filepath.Join(cfg.DataDir, "code.key"))
	if err != nil {
		return nil, err
	}
	namespaces := kube.Namespaces{Base: cfg.KubeNamespace, PerNamespace: cfg.NamespacePerOWNamespace}
	p, err := knative.New(knative.Options{
		Serving: serving, Watch: watch, Kube: core, Namespaces: namespaces, Images: images, APIHost: cfg.APIHost,
		Annotations: cfg.Annotations, Actions: storeActions{st}, CodeKey: key, Logf: logf,
	})
	if err != nil {
		return nil, err
	}
	return &knativeMode{platform: p, subscriber: eventing.New(dyn, namespaces), core: core, leaseNS: cfg.KubeNamespace, logf: logf}, nil
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

// storeActions is the action store as the platform reads it.
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

func (s storeActions) ListActions(ctx context.Context) ([]*whisk.Action, error) {
	nss, err := s.st.ListNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []*whisk.Action
	for _, ns := range nss {
		docs, _, err := s.st.ListEntities(ctx, store.ListQuery{Collection: store.Actions, Namespace: ns.Name, WithPackages: true})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			a, err := decodeAction(d)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
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

// wrap returns st with action writes followed by their Services: a put
// action gets its Service created or updated, a deleted entity's Service
// (if it was an action) is removed. Both run in the background, after the
// write succeeded: the store is the truth, and the reconcile at the next
// start repairs what a failure here leaves.
func (k *knativeMode) wrap(st store.Store) store.Store {
	if k == nil {
		return st
	}
	return &syncStore{Store: st, k: k}
}

type syncStore struct {
	store.Store
	k *knativeMode
}

func (s *syncStore) PutEntity(ctx context.Context, doc *store.Document) error {
	if err := s.Store.PutEntity(ctx, doc); err != nil {
		return err
	}
	if doc.Collection == store.Actions {
		if a, err := decodeAction(doc); err == nil {
			s.k.later("ensure Service of "+a.Path().String(), func(ctx context.Context) error { return s.k.platform.Ensure(ctx, a) })
		}
	}
	return nil
}

func (s *syncStore) DeleteEntity(ctx context.Context, namespace, name string, rev int64) error {
	if err := s.Store.DeleteEntity(ctx, namespace, name, rev); err != nil {
		return err
	}
	ns, pkg := whisk.ParseParent(namespace)
	path := whisk.EntityPath{Namespace: ns, Package: pkg, Name: name}
	s.k.later("remove Service of "+path.String(), func(ctx context.Context) error { return s.k.platform.Remove(ctx, path) })
	return nil
}

// later runs a Service write in the background, bounded in time; before
// start or after the gateway stopped it is dropped (the reconcile at the
// next start covers it).
func (k *knativeMode) later(what string, fn func(context.Context) error) {
	w := &k.writes
	w.mu.Lock()
	if w.ctx == nil || w.closed {
		w.mu.Unlock()
		return
	}
	w.wg.Add(1)
	parent := w.ctx
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		ctx, cancel := context.WithTimeout(parent, time.Minute)
		defer cancel()
		if err := fn(ctx); err != nil {
			k.logf("%s: %v", what, err)
		}
	}()
}

// codeOrNil is the code route's source in knative mode (the runtime
// images fetch action code from the gateway); nil in local mode.
func (k *knativeMode) codeOrNil() api.CodeSource {
	if k == nil {
		return nil
	}
	return k.platform
}

// subscriberOrNil is the broker subscriber of knative mode; nil (no
// broker) in local mode.
func (k *knativeMode) subscriberOrNil() events.Subscriber {
	if k == nil {
		return nil
	}
	return k.subscriber
}

// start adds to g the Service watch, the reconcile (once), and the
// Service writes that follow store writes; the writes are accepted from
// now until g stops them, then the ones in flight are cancelled and
// waited for. ctx gives its values only.
func (k *knativeMode) start(ctx context.Context, g *run.Group) {
	if k == nil {
		return
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.writes.mu.Lock()
	k.writes.ctx = wctx
	k.writes.mu.Unlock()
	g.Add("service writes", nil, func(context.Context) error {
		cancel()
		k.writes.mu.Lock()
		k.writes.closed = true
		k.writes.mu.Unlock()
		k.writes.wg.Wait()
		return nil
	})
	g.Add("knative", func(ctx context.Context) error {
		if err := k.platform.Start(ctx); err != nil {
			k.logf("knative: %v", err)
		}
		return nil
	}, nil)
	g.Add("reconcile", func(ctx context.Context) error {
		if err := k.platform.Reconcile(ctx); err != nil {
			k.logf("reconcile Services with actions: %v", err)
		} else {
			k.logf("reconciled Services with actions")
		}
		return nil
	}, nil)
}

// runAlarms runs the alarm scheduler: at once in local mode; in knative
// mode only while this replica holds the "kwhisk-alarms" Lease, so with
// several gateway replicas exactly one fires.
func (k *knativeMode) runAlarms(ctx context.Context, run func(context.Context) error) error {
	if k == nil {
		return run(ctx)
	}
	host, _ := os.Hostname() // the pod name; uniqueness comes from the suffix
	return kube.WhileLeading(ctx, kube.Election{
		Client: k.core, Namespace: k.leaseNS, Lease: "kwhisk-alarms", Identity: host + "-" + string(whisk.NewActivationID())[:8],
	}, func(lctx context.Context) {
		if err := run(lctx); err != nil {
			k.logf("alarms: %v", err)
		}
	})
}
