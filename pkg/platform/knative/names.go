package knative

import (
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Labels on every Service (and its revisions' pods) the gateway makes, so
// `kubectl get ksvc -l kwhisk.dev/namespace=guest` lists a namespace's
// actions. Values are the OpenWhisk names when they are valid label
// values, else a readable part and a hash (kube.LabelValue).
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "kwhisk"
	LabelNamespace = "kwhisk.dev/namespace"
	LabelPackage   = "kwhisk.dev/package"
	LabelAction    = "kwhisk.dev/action"
	// LabelVisibility keeps actions off the external ingress: only the
	// gateway, which enforces OpenWhisk auth, is public.
	LabelVisibility   = "networking.knative.dev/visibility"
	VisibilityCluster = "cluster-local"
)

// Annotations carry what labels cannot: the true OpenWhisk path of the
// action (on the Service), its version and code digest (on the revision
// template).
const (
	AnnotationPath    = "kwhisk.dev/path"
	AnnotationVersion = "kwhisk.dev/version"
	AnnotationDigest  = "kwhisk.dev/code-digest"
)

// ManagedSelector selects the Services the gateway owns.
const ManagedSelector = LabelManagedBy + "=" + ManagedBy

// ServiceName is the Service of the action at path: the action's name,
// sanitised and cut, and a hash of the fully qualified path, within
// kube.MaxNameLength characters so revision names (ServiceName-<id>) and
// tag hosts (<id>-ServiceName) stay valid DNS labels.
func ServiceName(path whisk.EntityPath) string {
	return kube.Name(path.Name, path.FullyQualified(), kube.MaxNameLength)
}

// revisionIDLength is the length of a revision id: "v" and hex digits.
const revisionIDLength = 10

// revisionID names an action version's content: "v" and a hash of what
// the revision template holds, so equal content gets the same revision
// and any change a new one (Knative refuses a changed template under an
// old name).
func revisionID(content []byte) string {
	return "v" + kube.Hash(string(content), revisionIDLength-1)
}

// RevisionName is the revision of the Service svc with id.
func RevisionName(svc, id string) string { return svc + "-" + id }
