package knative

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

var dns1035 = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

var (
	nodeImage  = "registry.example/runtime-nodejs@sha256:" + strings.Repeat("1", 64)
	proxyImage = "registry.example/runtime-proxy@sha256:" + strings.Repeat("2", 64)
)

func baseAction() *platform.Action {
	return &platform.Action{
		Key:     "guest/hello@0.0.1#1",
		Path:    whisk.EntityPath{Namespace: "guest", Name: "hello"},
		Version: "0.0.1",
		Kind:    "nodejs:20",
		Code:    "function main() { return {} }",
		Limits:  whisk.Limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 1},
	}
}

func baseOptions() BuildOptions {
	return BuildOptions{
		Namespace: "kwhisk-actions",
		Image:     nodeImage,
		APIHost:   "http://kwhisk.kwhisk.svc.cluster.local",
		CodeToken: func(p whisk.EntityPath, digest string) string { return "token-for-" + p.Name + "-" + digest[:12] },
	}
}

// summary is what the table checks of a built Service.
type summary struct {
	Name, Namespace string
	Labels          map[string]string
	Annotations     map[string]string
	TemplateLabels  map[string]string
	TemplateAnnos   map[string]string
	Concurrency     int64
	Timeout         int64
	Containers      []container
	Traffic         []string
}

type container struct {
	Name, Image string
	Port        int32
	Memory      string
	Env         map[string]string
	Probe       string
}

func summarize(t *testing.T, s *servingv1.Service) summary {
	t.Helper()
	out := summary{
		Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Annotations: s.Annotations,
		TemplateLabels: s.Spec.Template.Labels, TemplateAnnos: s.Spec.Template.Annotations,
		Concurrency: *s.Spec.Template.Spec.ContainerConcurrency, Timeout: *s.Spec.Template.Spec.TimeoutSeconds,
	}
	for _, c := range s.Spec.Template.Spec.Containers {
		sc := container{Name: c.Name, Image: c.Image, Env: map[string]string{}}
		if len(c.Ports) == 1 {
			sc.Port = c.Ports[0].ContainerPort
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			sc.Memory = q.String()
			if r := c.Resources.Requests[corev1.ResourceMemory]; r.Cmp(q) != 0 {
				t.Errorf("container %s: memory request %s != limit %s", c.Name, r.String(), q.String())
			}
		}
		for _, e := range c.Env {
			sc.Env[e.Name] = e.Value
			if e.Name == EnvAction { // compare as JSON, not as text
				var v map[string]any
				if err := json.Unmarshal([]byte(e.Value), &v); err != nil {
					t.Fatalf("%s is not JSON: %v", EnvAction, err)
				}
				sc.Env[e.Name] = actionJSON(t, v)
			}
		}
		if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil {
			sc.Probe = c.ReadinessProbe.HTTPGet.Path
		}
		out.Containers = append(out.Containers, sc)
	}
	for _, tt := range s.Spec.Traffic {
		desc := "latest"
		if tt.Tag != "" {
			desc = tt.Tag + "=" + tt.RevisionName
		}
		out.Traffic = append(out.Traffic, desc+"@"+itoa(*tt.Percent))
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// actionJSON renders KWHISK_ACTION as the test expects it.
func actionJSON(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMakeService(t *testing.T) {
	big := strings.Repeat("x", DefaultInlineCodeLimit+1)
	five := 5
	limits := map[string]any{"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}
	tests := []struct {
		name   string
		action func(a *platform.Action)
		opts   func(o *BuildOptions)
		want   func(t *testing.T, s *servingv1.Service, got summary) summary
	}{{
		name: "small code inline",
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			rev := s.Spec.Template.Name
			id := strings.TrimPrefix(rev, s.Name+"-")
			return summary{
				Name: s.Name, Namespace: "kwhisk-actions",
				Labels: map[string]string{
					LabelManagedBy: ManagedBy, LabelNamespace: "guest", LabelAction: "hello",
					LabelVisibility: VisibilityCluster,
				},
				Annotations:    map[string]string{AnnotationPath: "/guest/hello"},
				TemplateLabels: map[string]string{LabelManagedBy: ManagedBy, LabelNamespace: "guest", LabelAction: "hello"},
				TemplateAnnos: map[string]string{
					AnnotationVersion: "0.0.1", AnnotationDigest: Digest("function main() { return {} }"),
					TargetUtilizationAnnotation: "100",
				},
				Concurrency: 1, Timeout: 190,
				Containers: []container{{
					Name: RuntimeContainer, Image: nodeImage, Port: 8080, Memory: "256Mi",
					Probe: "/ready",
					Env: map[string]string{
						EnvAction: actionJSON(t, map[string]any{
							"name": "/guest/hello", "version": "0.0.1", "kind": "nodejs:20", "main": "main", "binary": false,
							"code": "function main() { return {} }", "digest": Digest("function main() { return {} }"),
							"limits": limits,
						}),
						EnvCodeToken: "token-for-hello-" + Digest("function main() { return {} }")[:12],
						EnvRunKeys:   "http://kwhisk.kwhisk.svc.cluster.local/api/v1/run-keys/" + Digest("function main() { return {} }"),
						EnvAPIHost:   "http://kwhisk.kwhisk.svc.cluster.local",
					},
				}},
				Traffic: []string{"latest@100", id + "=" + rev + "@0"},
			}
		},
	}, {
		name: "large code is fetched with a token",
		action: func(a *platform.Action) {
			a.Code, a.Binary, a.Main = big, true, "run"
			a.Env = map[string]string{"SECRET": "s"}
		},
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			d := Digest(big)
			want := got
			want.Containers = []container{got.Containers[0]}
			want.Containers[0].Env = map[string]string{
				EnvAction: actionJSON(t, map[string]any{
					"name": "/guest/hello", "version": "0.0.1", "kind": "nodejs:20", "main": "run", "binary": true,
					"digest": d, "limits": limits, "env": map[string]string{"SECRET": "s"},
				}),
				EnvCodeURL:   "http://kwhisk.kwhisk.svc.cluster.local/api/v1/code/" + d,
				EnvCodeToken: "token-for-hello-" + d[:12],
				EnvRunKeys:   "http://kwhisk.kwhisk.svc.cluster.local/api/v1/run-keys/" + d,
				EnvAPIHost:   "http://kwhisk.kwhisk.svc.cluster.local",
			}
			return want
		},
	}, {
		name: "limits: concurrency, memory, timeout, instances",
		action: func(a *platform.Action) {
			a.Limits = whisk.Limits{Timeout: 300000, Memory: 512, Logs: 1, Concurrency: 8, Instances: &five}
		},
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			want := got
			want.Concurrency, want.Timeout = 8, 430
			want.Containers[0].Memory = "512Mi"
			want.TemplateAnnos = map[string]string{
				AnnotationVersion: "0.0.1", AnnotationDigest: Digest("function main() { return {} }"),
				TargetUtilizationAnnotation: "100",
				MaxScaleAnnotation:          "5",
			}
			return want
		},
	}, {
		name: "autoscaling: gateway defaults, then the action's own keys",
		action: func(a *platform.Action) {
			a.Path = whisk.EntityPath{Namespace: "guest", Package: "utils", Name: "hello"}
		},
		opts: func(o *BuildOptions) {
			o.Annotations = map[string]string{
				"autoscaling.knative.dev/initial-scale":                      "0",
				"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "10m",
				"autoscaling.knative.dev/max-scale":                          "20",
			}
			o.ActionAnnotations = whisk.KeyValues{
				{Key: "autoscaling.knative.dev/min-scale", Value: json.RawMessage(`1`)},
				{Key: "autoscaling.knative.dev/target", Value: json.RawMessage(`"7"`)},
				{Key: "autoscaling.knative.dev/class", Value: json.RawMessage(`"hpa.autoscaling.knative.dev"`)},
				{Key: "autoscaling.knative.dev/window", Value: json.RawMessage(`true`)},
				{Key: "web-export", Value: json.RawMessage(`true`)},
			}
		},
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			want := got
			want.Annotations = map[string]string{AnnotationPath: "/guest/utils/hello"}
			want.Labels = map[string]string{
				LabelManagedBy: ManagedBy, LabelNamespace: "guest", LabelPackage: "utils", LabelAction: "hello",
				LabelVisibility: VisibilityCluster,
			}
			want.TemplateLabels = map[string]string{LabelManagedBy: ManagedBy, LabelNamespace: "guest", LabelPackage: "utils", LabelAction: "hello"}
			want.TemplateAnnos = map[string]string{
				AnnotationVersion: "0.0.1", AnnotationDigest: Digest("function main() { return {} }"),
				"autoscaling.knative.dev/initial-scale":                      "0",
				"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "10m",
				"autoscaling.knative.dev/max-scale":                          "20",
				"autoscaling.knative.dev/min-scale":                          "1",
				"autoscaling.knative.dev/target":                             "7",
				TargetUtilizationAnnotation:                                  "100",
			}
			return want
		},
	}, {
		name: "names that are not DNS labels",
		action: func(a *platform.Action) {
			a.Path = whisk.EntityPath{Namespace: "jane@example.com", Package: "My Package", Name: "42 Sales & Co. report.v2"}
		},
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			want := got
			if !strings.HasPrefix(s.Name, "ow-42-sales-co-rep") {
				t.Errorf("name %q does not keep the readable part", s.Name)
			}
			want.Annotations = map[string]string{AnnotationPath: "/jane@example.com/My Package/42 Sales & Co. report.v2"}
			for _, m := range []map[string]string{want.Labels, want.TemplateLabels} {
				for k, v := range m {
					if k == LabelNamespace && (!strings.HasPrefix(v, "jane") || strings.Contains(v, "@")) {
						t.Errorf("namespace label %q", v)
					}
					if k == LabelPackage && v != "MyPackage-"+hashOf("My Package") {
						t.Errorf("package label %q", v)
					}
				}
			}
			return want
		},
	}, {
		name: "blackbox image beside the runtime proxy",
		action: func(a *platform.Action) {
			a.Kind, a.Image, a.Code = whisk.KindBlackbox, "docker.io/jane/action:1", ""
		},
		opts: func(o *BuildOptions) { o.Image = proxyImage },
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			want := got
			want.TemplateAnnos = map[string]string{TargetUtilizationAnnotation: "100", AnnotationVersion: "0.0.1", AnnotationDigest: Digest("")}
			want.Containers = []container{{
				Name: RuntimeContainer, Image: proxyImage, Port: BlackboxProxyPort, Probe: "/ready",
				Env: map[string]string{
					EnvAction: actionJSON(t, map[string]any{
						"name": "/guest/hello", "version": "0.0.1", "kind": "blackbox", "main": "main", "binary": false,
						"code": "", "digest": Digest(""), "image": "docker.io/jane/action:1", "limits": limits,
					}),
					EnvCodeToken: "token-for-hello-" + Digest("")[:12],
					EnvRunKeys:   "http://kwhisk.kwhisk.svc.cluster.local/api/v1/run-keys/" + Digest(""),
					EnvAPIHost:   "http://kwhisk.kwhisk.svc.cluster.local",
					EnvBlackbox:  "http://127.0.0.1:8080",
				},
			}, {
				Name: ActionContainer, Image: "docker.io/jane/action:1", Memory: "256Mi",
				Env: map[string]string{EnvAPIHost: "http://kwhisk.kwhisk.svc.cluster.local"},
			}}
			return want
		},
	}, {
		name: "native code in the skeleton image runs in the runtime itself",
		action: func(a *platform.Action) {
			a.Kind, a.Image, a.Code = whisk.KindBlackbox, "openwhisk/dockerskeleton:1.14.0", "#!/bin/sh\necho '{}'"
		},
		opts: func(o *BuildOptions) { o.Image = proxyImage },
		want: func(t *testing.T, s *servingv1.Service, got summary) summary {
			want := got
			code := "#!/bin/sh\necho '{}'"
			want.TemplateAnnos = map[string]string{TargetUtilizationAnnotation: "100", AnnotationVersion: "0.0.1", AnnotationDigest: Digest(code)}
			want.Containers = []container{{
				Name: RuntimeContainer, Image: proxyImage, Port: RuntimePort, Memory: "256Mi", Probe: "/ready",
				Env: map[string]string{
					EnvAction: actionJSON(t, map[string]any{
						"name": "/guest/hello", "version": "0.0.1", "kind": "blackbox", "main": "main", "binary": false,
						"code": code, "digest": Digest(code), "image": "openwhisk/dockerskeleton:1.14.0", "limits": limits,
					}),
					EnvCodeToken: "token-for-hello-" + Digest(code)[:12],
					EnvRunKeys:   "http://kwhisk.kwhisk.svc.cluster.local/api/v1/run-keys/" + Digest(code),
					EnvAPIHost:   "http://kwhisk.kwhisk.svc.cluster.local",
				},
			}}
			return want
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, o := baseAction(), baseOptions()
			if tc.action != nil {
				tc.action(a)
			}
			if tc.opts != nil {
				tc.opts(&o)
			}
			s := MakeService(a, o)
			got := summarize(t, s)
			if diff := cmp.Diff(tc.want(t, s, got), got); diff != "" {
				t.Errorf("MakeService (-want, +got):\n%s", diff)
			}
			checkNames(t, s)
			if err := Check(context.Background(), s, nil); err != nil {
				t.Errorf("Knative rejects the Service: %v", err)
			}
			// Deterministic: the same input builds the same Service.
			if diff := cmp.Diff(s, MakeService(a, o)); diff != "" {
				t.Errorf("second build differs (-first, +second):\n%s", diff)
			}
		})
	}
}

// With containerConcurrency 1, Knative's default 70 % target starts 2
// pods for one cold request: kwhisk's default is 100 %, one pod per
// concurrent activation, unless the gateway's or the action's annotations
// say otherwise.
func TestTargetUtilization(t *testing.T) {
	tests := []struct {
		name            string
		gateway, action string
		want            string
	}{
		{"kwhisk's default", "", "", "100"},
		{"the gateway's default wins", "80", "", "80"},
		{"the action's own wins", "80", "50", "50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, o := baseAction(), baseOptions()
			if tc.gateway != "" {
				o.Annotations = map[string]string{TargetUtilizationAnnotation: tc.gateway}
			}
			if tc.action != "" {
				o.ActionAnnotations = whisk.KeyValues{{Key: TargetUtilizationAnnotation, Value: json.RawMessage(tc.action)}}
			}
			s := MakeService(a, o)
			if got := s.Spec.Template.Annotations[TargetUtilizationAnnotation]; got != tc.want {
				t.Errorf("%s = %q, want %q", TargetUtilizationAnnotation, got, tc.want)
			}
			if err := Check(context.Background(), s, nil); err != nil {
				t.Errorf("Knative rejects the Service: %v", err)
			}
		})
	}
}

func hashOf(s string) string { return kube.Hash(s, 16) }

// checkNames asserts the DNS rules Knative and Kubernetes apply to the
// Service, its revision, its tag host and its revision's private Service.
func checkNames(t *testing.T, s *servingv1.Service) {
	t.Helper()
	rev := s.Spec.Template.Name
	tag := Tagged(s)
	for what, n := range map[string]string{
		"service": s.Name, "revision": rev, "tag": tag, "tag host": tag + "-" + s.Name, "private service": rev + "-private",
	} {
		if len(n) > 63 || !dns1035.MatchString(n) {
			t.Errorf("%s name %q is not a DNS-1035 label", what, n)
		}
	}
	if !strings.HasPrefix(rev, s.Name+"-") {
		t.Errorf("revision %q lacks the prefix %q", rev, s.Name+"-")
	}
}

func TestSidecar(t *testing.T) {
	tests := []struct {
		kind, image, code string
		want              bool
	}{
		{"nodejs:20", "", "code", false},
		{whisk.KindBlackbox, "", "#!/bin/sh", false},
		{whisk.KindBlackbox, "openwhisk/dockerskeleton", "#!/bin/sh", false},
		{whisk.KindBlackbox, "docker.io/openwhisk/dockerskeleton:1.14.0", "#!/bin/sh", false},
		{whisk.KindBlackbox, "openwhisk/dockerskeleton@sha256:" + strings.Repeat("a", 64), "#!/bin/sh", false},
		{whisk.KindBlackbox, "openwhisk/dockerskeleton", "", false},
		{whisk.KindBlackbox, "openwhisk/dockerskeleton:latest", " \n", false},
		{whisk.KindBlackbox, "jane/action", "", true},
		{whisk.KindBlackbox, "registry:5000/jane/action:v1", "#!/bin/sh", true},
	}
	for _, tc := range tests {
		a := &platform.Action{Kind: tc.kind, Image: tc.image, Code: tc.code}
		if got := Sidecar(a); got != tc.want {
			t.Errorf("Sidecar(%s %q code %q) = %v, want %v", tc.kind, tc.image, tc.code, got, tc.want)
		}
	}
}

func TestRevisionPerVersion(t *testing.T) {
	o := baseOptions()
	v1 := baseAction()
	s1 := MakeService(v1, o)

	same := baseAction()
	same.Key = "another key, same content"
	v2 := baseAction()
	v2.Version, v2.Code = "0.0.2", "function main() { return {v: 2} }"
	bumped := baseAction()
	bumped.Version = "0.0.2"
	annotated := baseAction()
	oa := o
	oa.ActionAnnotations = whisk.KeyValues{{Key: "autoscaling.knative.dev/min-scale", Value: json.RawMessage(`1`)}}

	tests := []struct {
		name    string
		svc     *servingv1.Service
		sameRev bool
	}{
		{"same content", MakeService(same, o), true},
		{"new code and version", MakeService(v2, o), false},
		{"version bump only", MakeService(bumped, o), false},
		{"new annotation", MakeService(annotated, oa), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.svc.Name != s1.Name {
				t.Errorf("service name %q, want %q: one Service per action", tc.svc.Name, s1.Name)
			}
			if got := tc.svc.Spec.Template.Name == s1.Spec.Template.Name; got != tc.sameRev {
				t.Errorf("revision %q vs %q: same = %v, want %v", tc.svc.Spec.Template.Name, s1.Spec.Template.Name, got, tc.sameRev)
			}
			if tc.sameRev {
				// The platform leaves an existing revision's template alone.
				if diff := cmp.Diff(s1.Spec.Template, tc.svc.Spec.Template); diff != "" {
					t.Errorf("same revision name, different template (-first, +second):\n%s", diff)
				}
				return
			}
			// Knative accepts the new version as an update of the old one.
			if err := Check(context.Background(), tc.svc, s1); err != nil {
				t.Errorf("update rejected: %v", err)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *servingv1.Service)
		want   string
	}{
		{"bad min-scale", func(s *servingv1.Service) {
			s.Spec.Template.Annotations["autoscaling.knative.dev/min-scale"] = "lots"
		}, "min-scale"},
		{"min over max", func(s *servingv1.Service) {
			s.Spec.Template.Annotations["autoscaling.knative.dev/min-scale"] = "5"
			s.Spec.Template.Annotations["autoscaling.knative.dev/max-scale"] = "2"
		}, "max-scale"},
		{"template changed under the same name", func(s *servingv1.Service) {
			s.Spec.Template.Spec.Containers[0].Image = "other"
		}, "without a name change"},
	}
	old := MakeService(baseAction(), baseOptions())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := old.DeepCopy()
			tc.modify(s)
			err := Check(context.Background(), s, old)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMergeTraffic(t *testing.T) {
	tag := func(tag, rev string) servingv1.TrafficTarget {
		return servingv1.TrafficTarget{Tag: tag, RevisionName: rev, LatestRevision: ptr(false), Percent: ptr(int64(0))}
	}
	latest := servingv1.TrafficTarget{LatestRevision: ptr(true), Percent: ptr(int64(100))}
	want := []servingv1.TrafficTarget{latest, tag("v3", "s-v3")}
	tests := []struct {
		name string
		have []servingv1.TrafficTarget
		keep int
		want []servingv1.TrafficTarget
	}{
		{"nothing before", nil, 2, want},
		{"keeps older tags newest first", []servingv1.TrafficTarget{latest, tag("v2", "s-v2"), tag("v1", "s-v1")}, 2,
			[]servingv1.TrafficTarget{latest, tag("v3", "s-v3"), tag("v2", "s-v2"), tag("v1", "s-v1")}},
		{"up to keep", []servingv1.TrafficTarget{latest, tag("v2", "s-v2"), tag("v1", "s-v1")}, 1,
			[]servingv1.TrafficTarget{latest, tag("v3", "s-v3"), tag("v2", "s-v2")}},
		{"no duplicates", []servingv1.TrafficTarget{latest, tag("v3", "s-v3"), tag("v2", "s-v2")}, 2,
			[]servingv1.TrafficTarget{latest, tag("v3", "s-v3"), tag("v2", "s-v2")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MergeTraffic(want, tc.have, tc.keep)); diff != "" {
				t.Errorf("MergeTraffic (-want, +got):\n%s", diff)
			}
		})
	}
}

// Knative's activator applies the revision's timeouts to the whole
// request, the wait for a pod from zero included: they leave room for the
// cold start and the action's limit (the runtime enforces the limit), and
// stay so once Knative's webhook has defaulted the revision.
func TestRevisionTimeoutsLeaveRoomForAColdStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   int
		cold time.Duration
		want int64
	}{
		{"a 3 s action, the default cold start of 2 min", 3000, 0, 133},
		{"a 3 s action whose pod may take 20 s", 3000, 20 * time.Second, 33},
		{"the largest limit", 300000, 0, 430},
		{"capped at Knative's default maximum", 300000, 10 * time.Minute, MaxRevisionTimeoutSec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, o := baseAction(), baseOptions()
			a.Limits.Timeout, o.ColdStart = tc.ms, tc.cold
			s := MakeService(a, o)
			if err := Check(context.Background(), s, nil); err != nil {
				t.Fatalf("Knative rejects the Service: %v", err)
			}
			d := s.DeepCopy()
			d.SetDefaults(config.ToContext(apis.WithinCreate(context.Background()), validationConfig()))
			spec := d.Spec.Template.Spec
			for name, v := range map[string]*int64{
				"timeoutSeconds": spec.TimeoutSeconds, "responseStartTimeoutSeconds": spec.ResponseStartTimeoutSeconds,
				"idleTimeoutSeconds": spec.IdleTimeoutSeconds,
			} {
				if v == nil || *v != tc.want {
					t.Errorf("%s = %v after defaulting, want %d", name, ptrString(v), tc.want)
				}
			}
		})
	}
}

func ptrString(v *int64) string {
	if v == nil {
		return "unset"
	}
	return strconv.FormatInt(*v, 10)
}

func TestResourcesRoundUp(t *testing.T) {
	for _, tc := range []struct {
		ms   int
		want int64
	}{{100, 131}, {1000, 131}, {1001, 132}, {0, 190}, {600000, 600}} {
		if got := timeoutSeconds(tc.ms, 0); got != tc.want {
			t.Errorf("timeoutSeconds(%d, 0) = %d, want %d", tc.ms, got, tc.want)
		}
	}
	r := resources(128)
	if q := r.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("128Mi")) != 0 {
		t.Errorf("memory limit %s, want 128Mi", q.String())
	}
}

// Every container of an action's pod runs hardened, the pod mounts no
// service-account token, and Knative's own validation admits both (the
// real tier's webhook admits them too: TestServingAdmitsEveryService).
func TestPodsAreHardened(t *testing.T) {
	docker := baseAction()
	docker.Kind, docker.Image, docker.Code = whisk.KindBlackbox, "docker.io/jane/action:1", ""
	for name, a := range map[string]*platform.Action{"runtime": baseAction(), "runtime and the user's image": docker} {
		svc := MakeService(a, baseOptions())
		if err := Check(context.Background(), svc, nil); err != nil {
			t.Errorf("%s: Knative refuses: %v", name, err)
		}
		spec := svc.Spec.Template.Spec.PodSpec
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken %v, want false", name, spec.AutomountServiceAccountToken)
		}
		for _, c := range spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: container %s security context %+v, want hardened", name, c.Name, sc)
			}
		}
		if name != "runtime" && len(spec.Containers) != 2 {
			t.Errorf("%s: %d containers, want the runtime and the image", name, len(spec.Containers))
		}
	}
}
