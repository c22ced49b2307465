package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

// Knative Eventing's own installation, as the real tier applies it beside
// Serving: the YAML of the knative.dev/eventing module's config/core, the
// in-memory channel and the multi-tenant channel-based broker, with each
// ko:// image mapped by the pod runner to a binary third_party/eventing.sh
// built. Nothing is changed from Knative's defaults but what is skipped
// below.

const eventingNamespace = "knative-eventing"

// eventingComponents are the mains the pod runner maps, by their path
// under knative.dev/eventing/cmd (the binary is the path with '/' as '-').
var eventingComponents = []string{
	"controller", "webhook", "in_memory/channel_controller", "in_memory/channel_dispatcher",
	"mtchannel_broker", "broker/ingress", "broker/filter",
}

// eventingNames are the names the harness prints the components by: their
// Deployments', the broker's as broker-ingress and broker-filter.
var eventingNames = map[string]string{
	"controller": "eventing-controller", "webhook": "eventing-webhook",
	"in_memory/channel_controller": "imc-controller", "in_memory/channel_dispatcher": "imc-dispatcher",
	"mtchannel_broker": "mt-broker-controller", "broker/ingress": "broker-ingress", "broker/filter": "broker-filter",
}

// eventingImages maps the components' images to the binaries in dir.
func eventingImages(dir string) map[string]string {
	m := map[string]string{}
	for _, c := range eventingComponents {
		m["ko://knative.dev/eventing/cmd/"+c] = filepath.Join(dir, strings.ReplaceAll(c, "/", "-"))
	}
	return m
}

// eventingSkipped are objects the real tier does not apply: the
// autoscalers of components (no metrics server; one replica is enough),
// and the Deployments of features no test uses (the job sink, the
// PingSource adapter).
func eventingSkipped(o *unstructured.Unstructured) bool {
	switch o.GetKind() {
	case "HorizontalPodAutoscaler", "PodDisruptionBudget":
		return true
	case "Deployment":
		return o.GetName() == "job-sink" || o.GetName() == "pingsource-mt-adapter"
	}
	return false
}

// eventingDirs are the directories of the installation, relative to the
// module's config/.
var eventingDirs = []string{
	"core", "core/roles", "core/configmaps", "core/resources", "core/deployments", "core/webhooks",
	"channels/in-memory-channel", "channels/in-memory-channel/roles", "channels/in-memory-channel/configmaps",
	"channels/in-memory-channel/resources", "channels/in-memory-channel/deployments", "channels/in-memory-channel/webhooks",
	"brokers/mt-channel-broker/roles", "brokers/mt-channel-broker/deployments",
}

// eventingCRDs are Eventing's CRDs: both tiers apply them, so the
// gateway's Triggers meet Eventing's own schema.
func eventingCRDs() ([]*unstructured.Unstructured, error) {
	crds, _, _, _, err := eventingObjects()
	return crds, err
}

// eventingObjects returns Knative Eventing's installation in apply order,
// as servingObjects does Serving's.
func eventingObjects() (crds, config, deployments, webhooks []*unstructured.Unstructured, err error) {
	dir, err := moduleDir("knative.dev/eventing")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, d := range eventingDirs {
		objs, err := readYAMLDir(filepath.Join(dir, "config", d))
		if err != nil {
			return nil, nil, nil, nil, err
		}
		for _, o := range objs {
			switch {
			case eventingSkipped(o):
			case o.GetKind() == "CustomResourceDefinition":
				crds = append(crds, o)
			case o.GetKind() == "Deployment" || o.GetKind() == "Service":
				deployments = append(deployments, o)
			case strings.HasSuffix(o.GetKind(), "WebhookConfiguration"):
				webhooks = append(webhooks, o)
			default:
				// Namespaces, accounts, roles, ConfigMaps and the
				// webhooks' Secrets, which the webhooks fill in.
				config = append(config, o)
			}
		}
	}
	return crds, config, deployments, webhooks, nil
}

// startEventing applies Knative Eventing into the running real tier (its
// pod runner knows the components' images) and returns once every
// component is Ready and its webhooks admit.
func startEventing(ctx context.Context, h *harness, s *servingTier, eventingBin string) error {
	start := time.Now()
	_, config, deployments, webhooks, err := eventingObjects()
	if err != nil {
		return err
	}
	a, err := newApplier(h.admin)
	if err != nil {
		return err
	}
	if err := a.apply(ctx, config); err != nil {
		return err
	}
	if err := a.apply(ctx, deployments); err != nil {
		return err
	}
	if err := waitDeployments(ctx, h.core, deployments); err != nil {
		return fmt.Errorf("Knative Eventing (pod logs in %s): %w", s.logs, err)
	}
	if err := a.apply(ctx, webhooks); err != nil {
		return err
	}
	if err := waitCABundles(ctx, h.core); err != nil {
		return err
	}
	for _, c := range eventingComponents {
		name := eventingNames[c]
		fmt.Fprintf(os.Stderr, "component %s knative.dev/eventing %s started\n", name,
			moduleVersion(filepath.Join(eventingBin, strings.ReplaceAll(c, "/", "-")), "knative.dev/eventing"))
	}
	fmt.Fprintf(os.Stderr, "kube harness: Knative Eventing ready in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// waitDeployments waits until every Deployment among objs has a ready
// replica.
func waitDeployments(ctx context.Context, kube kubernetes.Interface, objs []*unstructured.Unstructured) error {
	var missing []string
	err := poll(ctx, 3*time.Minute, func() (bool, error) {
		missing = missing[:0]
		for _, o := range objs {
			if o.GetKind() != "Deployment" {
				continue
			}
			d, err := kube.AppsV1().Deployments(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil || !deploymentReady(d) {
				missing = append(missing, o.GetName())
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("components not ready: %v: %w", missing, err)
	}
	return nil
}

func deploymentReady(d *appsv1.Deployment) bool {
	return d.Status.ReadyReplicas > 0 || (d.Spec.Replicas != nil && *d.Spec.Replicas == 0)
}
