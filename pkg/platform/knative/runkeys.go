package knative

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The Secret that holds the master keys of run requests
// (pkg/runtime/runauth), in the gateway's Kubernetes namespace. Its
// RunKeysField holds hex keys of at least 16 bytes, one per line, '#'
// comments allowed: the first signs, every one is accepted, so a key is
// rotated by adding the new one first and removing the old one later.
// The gateway creates the Secret with one random key when it is missing
// and follows its changes; no pod mounts it.
const (
	RunKeysSecret = "kwhisk-run-keys"
	RunKeysField  = "keys"
)

// RunKeys holds the master keys the gateway signs run requests with.
type RunKeys struct {
	masters atomic.Pointer[[][]byte]
	watch   kubernetes.Interface // nil: the keys never change
	ns      string
	log     *slog.Logger
}

// NewRunKeys returns fixed master keys (the first signs): for tests and
// for a gateway that does not keep them in a Secret.
func NewRunKeys(masters ...[]byte) *RunKeys {
	k := &RunKeys{log: logging.OrDiscard(nil)}
	k.masters.Store(&masters)
	return k
}

// LoadRunKeys reads the RunKeysSecret of namespace through kube, creating
// it with a random key when there is none; Watch then follows it through
// watch, a clientset without a request timeout.
func LoadRunKeys(ctx context.Context, kube, watch kubernetes.Interface, namespace string, log *slog.Logger) (*RunKeys, error) {
	secrets := kube.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, RunKeysSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("make a run key: %w", err)
		}
		s, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: RunKeysSecret, Namespace: namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Data:       map[string][]byte{RunKeysField: []byte(hex.EncodeToString(key) + "\n")},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // another replica made it first
			s, err = secrets.Get(ctx, RunKeysSecret, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("run keys: Secret %s/%s: %w", namespace, RunKeysSecret, err)
	}
	masters, err := parseMasters(s.Data[RunKeysField])
	if err != nil {
		return nil, fmt.Errorf("run keys: Secret %s/%s: %w", namespace, RunKeysSecret, err)
	}
	k := &RunKeys{watch: watch, ns: namespace, log: logging.OrDiscard(log)}
	k.masters.Store(&masters)
	return k, nil
}

// parseMasters reads RunKeysField.
func parseMasters(b []byte) ([][]byte, error) {
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := hex.DecodeString(line)
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("%q must hold hex keys of at least 16 bytes, one per line", RunKeysField)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q holds no key", RunKeysField)
	}
	return out, nil
}

// Watch follows the Secret until ctx ends: a change applies to the next
// run request. A Secret deleted or made invalid keeps the keys in force.
func (k *RunKeys) Watch(ctx context.Context) {
	if k.watch == nil {
		return
	}
	f := informers.NewSharedInformerFactoryWithOptions(k.watch, 0, informers.WithNamespace(k.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + RunKeysSecret }))
	update := func(obj any) {
		s, ok := obj.(*corev1.Secret)
		if !ok {
			return
		}
		masters, err := parseMasters(s.Data[RunKeysField])
		if err != nil {
			k.log.Warn("run keys Secret ignored: the keys in force stay", "secret", k.ns+"/"+RunKeysSecret, logging.Err(err))
			return
		}
		k.masters.Store(&masters)
	}
	_, _ = f.Core().V1().Secrets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    update,
		UpdateFunc: func(_, obj any) { update(obj) },
		DeleteFunc: func(any) {
			k.log.Warn("run keys Secret deleted: the keys in force stay until it is made again", "secret", k.ns+"/"+RunKeysSecret)
		},
	}) // an informer that has not started accepts handlers
	f.Start(ctx.Done())
	<-ctx.Done()
	f.Shutdown()
}

// sign returns the runauth.Header value of a run request of action with
// body, under the first master key.
func (k *RunKeys) sign(action string, body []byte, expiry time.Time) string {
	masters := *k.masters.Load()
	return runauth.Sign(runauth.Derive(masters[0], action), expiry, body)
}

// actionKeys returns action's keys under every master key, hex.
func (k *RunKeys) actionKeys(action string) []string {
	masters := *k.masters.Load()
	out := make([]string, len(masters))
	for i, m := range masters {
		out[i] = hex.EncodeToString(runauth.Derive(m, action))
	}
	return out
}

// RunKeys returns the keys of the action a code token was signed for, as
// the revision's runtime fetches them at boot: GET
// /api/v1/run-keys/{digest}. A bad token is KindUnauthorized.
func (p *Platform) RunKeys(_ context.Context, digest, token string) ([]string, error) {
	path, ok := checkToken(p.o.CodeKey, token, digest)
	if !ok {
		return nil, whisk.Errorf(whisk.KindUnauthorized, "The code token is not valid for this digest.")
	}
	return p.o.RunKeys.actionKeys(path.FullyQualified()), nil
}
