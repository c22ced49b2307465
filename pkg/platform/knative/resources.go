package knative

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Environment of the runtime container (docs/runtime-protocol.md).
const (
	EnvAction    = wire.EnvAction
	EnvCodeURL   = wire.EnvCodeURL
	EnvCodeToken = wire.EnvCodeToken
	EnvRunKeys   = wire.EnvRunKeysURL
	EnvAPIHost   = wire.EnvAPIHost
	EnvBlackbox  = wire.EnvBlackbox
)

// Container names in an action's pod.
const (
	// RuntimeContainer serves /run: the language runtime, or the proxy
	// in front of a blackbox image.
	RuntimeContainer = "runtime"
	// ActionContainer is the user's own image of a blackbox action.
	ActionContainer = "action"
)

// Ports: a blackbox image listens on 8080, as OpenWhisk's containers do,
// so the proxy beside it serves on BlackboxProxyPort.
const (
	RuntimePort       = 8080
	BlackboxPort      = 8080
	BlackboxProxyPort = 8081
)

// DefaultInlineCodeLimit is the largest code that travels in the
// Service's environment; larger code is fetched from the gateway.
const DefaultInlineCodeLimit = 32 << 10

// Revision timeouts. Knative's activator applies a revision's
// timeoutSeconds, responseStartTimeoutSeconds and idleTimeoutSeconds to
// the whole request, the wait for a pod of a revision scaled to zero
// included (knative.dev/serving's cmd/activator), and queue-proxy applies
// them again from when the request reaches the pod. The runtime enforces
// the action's own limit and reports it, so Knative's timeouts only leave
// room: the cold start (BuildOptions.ColdStart, the platform's
// ReadyTimeout), the action's limit and TimeoutMargin for the runtime to
// answer, at most MaxRevisionTimeoutSec (the default of config-defaults'
// max-revision-timeout-seconds, which the webhook enforces). With the
// defaults, a 2 min cold start and OpenWhisk's largest limit of 5 min
// take 430 s. The runtime sends its answer in one piece at the end, so the
// response-start and idle timeouts would cut the same request: they get
// the same value, since config-defaults would otherwise give a revision
// over 300 s a response-start timeout of 300 s
// (revision-response-start-timeout-seconds) and an operator's
// revision-idle-timeout-seconds would apply.
const (
	TimeoutMargin         = 10
	MaxRevisionTimeoutSec = 600
)

// actionAnnotations are the autoscaling.knative.dev keys an action's own
// annotations may set on its revisions.
var actionAnnotations = map[string]bool{
	"autoscaling.knative.dev/min-scale":                          true,
	"autoscaling.knative.dev/max-scale":                          true,
	"autoscaling.knative.dev/initial-scale":                      true,
	"autoscaling.knative.dev/activation-scale":                   true,
	"autoscaling.knative.dev/scale-down-delay":                   true,
	"autoscaling.knative.dev/scale-to-zero-pod-retention-period": true,
	"autoscaling.knative.dev/target":                             true,
	"autoscaling.knative.dev/target-utilization-percentage":      true,
	"autoscaling.knative.dev/window":                             true,
}

// MaxScaleAnnotation is set from the action's instances limit.
const MaxScaleAnnotation = "autoscaling.knative.dev/max-scale"

// TargetUtilizationAnnotation is the share of containerConcurrency
// Knative's autoscaler aims at per pod.
const TargetUtilizationAnnotation = "autoscaling.knative.dev/target-utilization-percentage"

// defaultAnnotations are kwhisk's revision defaults, under the gateway's
// and the action's. Knative's autoscaler aims at 70 % of
// containerConcurrency per pod by default, so with a concurrency of 1 a
// single cold request starts 2 pods (a burst of 20, 28–29); at 100 % one
// concurrent activation needs one pod, as in OpenWhisk, which gives every
// concurrent activation one container and keeps no headroom beside it.
var defaultAnnotations = map[string]string{
	TargetUtilizationAnnotation: "100",
}

// BuildOptions are the gateway's side of an action's Service.
type BuildOptions struct {
	// Namespace is the Kubernetes namespace of the Service.
	Namespace string
	// Image is the runtime image of the action's kind; for a blackbox
	// action, the proxy image that runs beside the action's own image.
	Image string
	// APIHost is __OW_API_HOST and the base of the code URL.
	APIHost string
	// Annotations are the gateway's default revision annotations
	// (autoscaling.knative.dev/*), over kwhisk's own (a target
	// utilization of 100 %); the instances limit and the action's own
	// annotations override them.
	Annotations map[string]string
	// ActionAnnotations are the action's annotations; only the keys of
	// actionAnnotations are used.
	ActionAnnotations whisk.KeyValues
	// InlineCodeLimit is the largest code sent inline; 0 means
	// DefaultInlineCodeLimit, a negative value never inlines.
	InlineCodeLimit int
	// CodeToken signs the runtime's fetches from the gateway, of its run
	// keys and of code that is not inline: it gets the action's path and
	// the code digest. Required.
	CodeToken func(path whisk.EntityPath, digest string) string
	// ColdStart is how long a pod of the revision may take to start (an
	// image pull, say), which its timeouts leave room for; 0 means
	// DefaultReadyTimeout. The platform passes its ReadyTimeout.
	ColdStart time.Duration
}

// Digest is the content digest of code as the runtime checks it.
func Digest(code string) string { return wire.Digest(code) }

// CodeURL is where a runtime fetches the code with digest from the gateway.
func CodeURL(apiHost, digest string) string {
	return strings.TrimRight(apiHost, "/") + "/api/v1/code/" + digest
}

// RunKeysURL is where a runtime fetches its action's run keys.
func RunKeysURL(apiHost, digest string) string {
	return strings.TrimRight(apiHost, "/") + "/api/v1/run-keys/" + digest
}

// MakeService builds the Service that runs version a of an action: its
// template is the revision of that version, named by its content, and its
// traffic sends everything to the latest revision and tags this one so an
// activation can address exactly it.
func MakeService(a *platform.Action, o BuildOptions) *servingv1.Service {
	name := ServiceName(a.Path)
	labels := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelNamespace: kube.LabelValue(a.Path.Namespace),
		LabelAction:    kube.LabelValue(a.Path.Name),
	}
	if a.Path.Package != "" {
		labels[LabelPackage] = kube.LabelValue(a.Path.Package)
	}
	svcLabels := map[string]string{LabelVisibility: VisibilityCluster}
	for k, v := range labels {
		svcLabels[k] = v
	}

	digest := Digest(a.Code)
	timeout := timeoutSeconds(a.Limits.Timeout, o.ColdStart)
	tmpl := servingv1.RevisionTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      labels,
			Annotations: revisionAnnotations(a, o, digest),
		},
		Spec: servingv1.RevisionSpec{
			PodSpec:                     podSpec(a, o, digest),
			ContainerConcurrency:        ptr(int64(max(a.Limits.Concurrency, 1))),
			TimeoutSeconds:              ptr(timeout),
			ResponseStartTimeoutSeconds: ptr(timeout),
			IdleTimeoutSeconds:          ptr(timeout),
		},
	}
	content, _ := json.Marshal(tmpl) // plain structs and maps always marshal
	// The stamp of the stored version is part of the revision's name: an
	// action deleted and created again with the same content gets a
	// revision (and pods) of its own, never the deleted one's, whose pods
	// may still be draining; a build from the same stored action is the
	// same revision, so Reconcile stays idempotent.
	id := revisionID(append(append(content, a.Version...), strconv.FormatInt(a.Updated, 10)...))
	tmpl.Name = RevisionName(name, id)

	return &servingv1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: servingv1.SchemeGroupVersion.String(), Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   o.Namespace,
			Labels:      svcLabels,
			Annotations: map[string]string{AnnotationPath: a.Path.FullyQualified()},
		},
		Spec: servingv1.ServiceSpec{
			ConfigurationSpec: servingv1.ConfigurationSpec{Template: tmpl},
			RouteSpec: servingv1.RouteSpec{Traffic: []servingv1.TrafficTarget{
				{LatestRevision: ptr(true), Percent: ptr(int64(100))},
				{Tag: id, RevisionName: tmpl.Name, LatestRevision: ptr(false), Percent: ptr(int64(0))},
			}},
		},
	}
}

// revisionAnnotations are kwhisk's defaults (defaultAnnotations), the
// gateway's defaults, max-scale from the instances limit, then the
// action's own autoscaling annotations, each overriding the ones before,
// and the version and digest.
func revisionAnnotations(a *platform.Action, o BuildOptions, digest string) map[string]string {
	m := map[string]string{
		AnnotationVersion: a.Version,
		AnnotationDigest:  digest,
	}
	for k, v := range defaultAnnotations {
		m[k] = v
	}
	for k, v := range o.Annotations {
		m[k] = v
	}
	if a.Limits.Instances != nil && *a.Limits.Instances > 0 {
		m[MaxScaleAnnotation] = strconv.Itoa(*a.Limits.Instances)
	}
	for _, kv := range o.ActionAnnotations {
		if !actionAnnotations[kv.Key] {
			continue
		}
		var s string
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(kv.Value, &n); err != nil {
				continue // neither a string nor a number: not a setting
			}
			s = n.String()
		}
		m[kv.Key] = s
	}
	return m
}

// timeoutSeconds is the revision timeout of an action with a time limit
// of ms milliseconds and a pod that may take coldStart to start.
func timeoutSeconds(ms int, coldStart time.Duration) int64 {
	if ms <= 0 {
		ms = whisk.DefaultBounds.DefaultTimeout
	}
	if coldStart <= 0 {
		coldStart = DefaultReadyTimeout
	}
	total := coldStart + time.Duration(ms)*time.Millisecond
	return min(int64((total+time.Second-1)/time.Second)+TimeoutMargin, MaxRevisionTimeoutSec)
}

// literalEnv is an environment variable whose value the kubelet passes
// on as written: it expands $(NAME) references to other variables and
// turns $$ into $ in every value, which would change an action's code
// (a shell script's $$, say) and break its digest. Every $ is doubled.
func literalEnv(name, value string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, Value: strings.ReplaceAll(value, "$", "$$")}
}

// hardened is the security context of every container of an action's pod,
// as far as Knative's webhook admits one: no privilege escalation, no
// capabilities, the runtime's default seccomp profile. Not runAsNonRoot:
// the runtime images' bases (node, python, golang, debian) run as root,
// and the Go runtime builds under its image's root-owned toolchain.
func hardened() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podSpec is the runtime container, and for a blackbox action the user's
// image beside it. The pod gets no service-account token: an action has
// no business with the Kubernetes API.
func podSpec(a *platform.Action, o BuildOptions, digest string) corev1.PodSpec {
	limits := a.Limits
	env := wire.ActionEnv{
		Name:    a.Path.FullyQualified(),
		Version: a.Version,
		Kind:    a.Kind,
		Main:    a.Main,
		Binary:  a.Binary,
		Digest:  digest,
		Image:   a.Image,
		Limits:  &limits,
		Env:     a.Env,
	}
	if env.Main == "" {
		env.Main = "main"
	}
	limit := o.InlineCodeLimit
	if limit == 0 {
		limit = DefaultInlineCodeLimit
	}
	inline := len(a.Code) <= limit
	if inline {
		code := a.Code
		env.Code = &code
	}
	ev, _ := json.Marshal(env) // plain structs and maps always marshal
	token := ""
	if o.CodeToken != nil {
		token = o.CodeToken(a.Path, digest)
	}
	vars := []corev1.EnvVar{literalEnv(EnvAction, string(ev))}
	if !inline {
		vars = append(vars, literalEnv(EnvCodeURL, CodeURL(o.APIHost, digest)))
	}
	vars = append(vars,
		literalEnv(EnvCodeToken, token),
		literalEnv(EnvRunKeys, RunKeysURL(o.APIHost, digest)),
		literalEnv(EnvAPIHost, o.APIHost))

	memory := resources(a.Limits.Memory)
	runtime := corev1.Container{
		Name:            RuntimeContainer,
		Image:           o.Image,
		Env:             vars,
		SecurityContext: hardened(),
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/ready"},
		}},
	}
	spec := corev1.PodSpec{EnableServiceLinks: ptr(false), AutomountServiceAccountToken: ptr(false)}
	if !Sidecar(a) {
		runtime.Ports = []corev1.ContainerPort{{ContainerPort: RuntimePort}}
		runtime.Resources = memory
		spec.Containers = []corev1.Container{runtime}
		return spec
	}
	runtime.Ports = []corev1.ContainerPort{{ContainerPort: BlackboxProxyPort}}
	runtime.Env = append(runtime.Env, literalEnv(EnvBlackbox, "http://127.0.0.1:"+strconv.Itoa(BlackboxPort)))
	action := corev1.Container{
		Name:            ActionContainer,
		Image:           a.Image,
		Env:             []corev1.EnvVar{literalEnv(EnvAPIHost, o.APIHost)},
		Resources:       memory,
		SecurityContext: hardened(),
	}
	spec.Containers = []corev1.Container{runtime, action}
	return spec
}

// Sidecar reports whether a runs its own image beside the runtime proxy:
// a blackbox action with an image other than OpenWhisk's docker skeleton.
// The native runtime stands in for the skeleton image, with code or
// without: it runs native code by the skeleton's convention, and without
// code the stub the skeleton image's default exec is (actionloop's
// Skeleton launcher), as local mode does; no foreign image is pulled.
func Sidecar(a *platform.Action) bool {
	return a.Kind == whisk.KindBlackbox && a.Image != "" && !whisk.IsDockerSkeleton(a.Image)
}

// resources requests and limits the action's memory (in MB, as OpenWhisk
// counts it), so the scheduler reserves what the action may use.
func resources(mb int) corev1.ResourceRequirements {
	if mb <= 0 {
		mb = whisk.DefaultBounds.DefaultMemory
	}
	q := resource.MustParse(strconv.Itoa(mb) + "Mi")
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: q},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: q},
	}
}

// Tagged returns the revision tag of the Service's template: the tag its
// own traffic gives the template's revision, or "".
func Tagged(svc *servingv1.Service) string {
	for _, t := range svc.Spec.Traffic {
		if t.RevisionName == svc.Spec.Template.Name && t.Tag != "" {
			return t.Tag
		}
	}
	return ""
}

// MergeTraffic returns the traffic of want (from MakeService) with up to
// keep more tags of have's traffic: the tags of older revisions that
// in-flight activations of older versions may still address. have's tags
// are kept in their order (newest first, as MergeTraffic writes them) and
// none twice.
func MergeTraffic(want, have []servingv1.TrafficTarget, keep int) []servingv1.TrafficTarget {
	out := append([]servingv1.TrafficTarget(nil), want...)
	seen := map[string]bool{}
	for _, t := range want {
		if t.Tag != "" {
			seen[t.Tag] = true
			seen["rev:"+t.RevisionName] = true
		}
	}
	for _, t := range have {
		if keep == 0 {
			break
		}
		if t.Tag == "" || t.RevisionName == "" || seen[t.Tag] || seen["rev:"+t.RevisionName] {
			continue
		}
		seen[t.Tag], seen["rev:"+t.RevisionName] = true, true
		out = append(out, servingv1.TrafficTarget{
			Tag: t.Tag, RevisionName: t.RevisionName, LatestRevision: ptr(false), Percent: ptr(int64(0)),
		})
		keep--
	}
	return out
}

func ptr[T any](v T) *T { return &v }
