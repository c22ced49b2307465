package whisk

import (
	"encoding/json"
	"strings"
)

// Exec kinds with special meaning.
const (
	KindBlackbox = "blackbox"
	KindSequence = "sequence"
)

// Exec is what an action runs: code of a runtime kind, a blackbox image
// (optionally with a native zip), or a sequence of other actions.
type Exec struct {
	Kind       string   `json:"kind"`
	Code       *string  `json:"code,omitempty"`
	Image      string   `json:"image,omitempty"`
	Main       string   `json:"main,omitempty"`
	Binary     bool     `json:"binary"`
	Components []string `json:"components,omitempty"`
}

// HasCode reports whether the exec carries code (possibly empty).
func (e *Exec) HasCode() bool { return e.Code != nil }

// CodeString returns the code or "".
func (e *Exec) CodeString() string {
	if e.Code == nil {
		return ""
	}
	return *e.Code
}

// Action is an OpenWhisk action as stored.
type Action struct {
	Namespace   string    `json:"namespace"` // "ns" or "ns/pkg"
	Name        string    `json:"name"`
	Exec        Exec      `json:"exec"`
	Parameters  KeyValues `json:"parameters"`
	Limits      Limits    `json:"limits"`
	Version     SemVer    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"` // epoch ms
	// Binding is "ns/binding" when the action was reached through a
	// package binding; never stored.
	Binding string `json:"binding,omitempty"`
}

// Path returns the action's entity path.
func (a *Action) Path() EntityPath {
	ns, pkg := ParseParent(a.Namespace)
	return EntityPath{Namespace: ns, Package: pkg, Name: a.Name}
}

// ActionPut is the body of PUT .../actions/{name}. Fields the client leaves
// out are nil; name and namespace in the body are ignored.
type ActionPut struct {
	Exec           *ExecPut     `json:"exec,omitempty"`
	Parameters     *KeyValues   `json:"parameters,omitempty"`
	Limits         *LimitsPatch `json:"limits,omitempty"`
	Version        *SemVer      `json:"version,omitempty"`
	Publish        *bool        `json:"publish,omitempty"`
	Annotations    *KeyValues   `json:"annotations,omitempty"`
	DelAnnotations []string     `json:"delAnnotations,omitempty"`
}

// ExecPut is the exec of a PUT body. Code is raw so a non-string code is a
// clear 400 rather than a decoding surprise.
type ExecPut struct {
	Kind       string          `json:"kind"`
	Code       json.RawMessage `json:"code,omitempty"`
	Image      string          `json:"image,omitempty"`
	Main       string          `json:"main,omitempty"`
	Binary     *bool           `json:"binary,omitempty"`
	Components []string        `json:"components,omitempty"`
}

// DockerSkeleton is OpenWhisk's docker skeleton image: native code runs on
// it, and without code its default exec answers a stub result.
const DockerSkeleton = "openwhisk/dockerskeleton"

// IsDockerSkeleton reports whether image names the docker skeleton, under
// any tag or digest, with or without Docker Hub's host.
func IsDockerSkeleton(image string) bool {
	name := image
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	name = strings.TrimPrefix(strings.TrimPrefix(name, "docker.io/"), "index.docker.io/")
	return name == DockerSkeleton
}
