package whisk

// Rule states.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// EntityRef is a {path, name} reference as rules show triggers and actions.
type EntityRef struct {
	Path string `json:"path"` // "ns" or "ns/pkg"
	Name string `json:"name"`
}

// EntityPath returns the reference as a path.
func (r EntityRef) EntityPath() EntityPath {
	ns, pkg := ParseParent(r.Path)
	return EntityPath{Namespace: ns, Package: pkg, Name: r.Name}
}

// String is "path/name".
func (r EntityRef) String() string { return r.Path + "/" + r.Name }

// RefOf returns the reference form of a path.
func RefOf(p EntityPath) EntityRef { return EntityRef{Path: p.Parent(), Name: p.Name} }

// ReducedRule is a trigger's view of one linked rule.
type ReducedRule struct {
	Action EntityRef `json:"action"`
	Status string    `json:"status"`
}

// Trigger is an OpenWhisk trigger as stored.
type Trigger struct {
	Namespace   string                 `json:"namespace"`
	Name        string                 `json:"name"`
	Parameters  KeyValues              `json:"parameters"`
	Limits      struct{}               `json:"limits"`
	Version     SemVer                 `json:"version"`
	Publish     bool                   `json:"publish"`
	Annotations KeyValues              `json:"annotations"`
	Rules       map[string]ReducedRule `json:"rules,omitempty"` // by "ns/rule"
	Updated     int64                  `json:"updated"`
}

// Path returns the trigger's entity path.
func (t *Trigger) Path() EntityPath { return EntityPath{Namespace: t.Namespace, Name: t.Name} }

// TriggerPut is the body of PUT .../triggers/{name}.
type TriggerPut struct {
	Parameters  *KeyValues `json:"parameters,omitempty"`
	Version     *SemVer    `json:"version,omitempty"`
	Publish     *bool      `json:"publish,omitempty"`
	Annotations *KeyValues `json:"annotations,omitempty"`
}

// TriggerSummary is a list element.
type TriggerSummary struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     SemVer    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"`
}

// Summary returns the list view of t.
func (t *Trigger) Summary() TriggerSummary {
	return TriggerSummary{Namespace: t.Namespace, Name: t.Name, Version: t.Version, Publish: t.Publish, Annotations: nonNil(t.Annotations), Updated: t.Updated}
}

// Rule is an OpenWhisk rule as stored; its status lives in the trigger.
type Rule struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Status      string    `json:"status,omitempty"`
	Trigger     EntityRef `json:"trigger"`
	Action      EntityRef `json:"action"`
	Version     SemVer    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"`
}

// Path returns the rule's entity path.
func (r *Rule) Path() EntityPath { return EntityPath{Namespace: r.Namespace, Name: r.Name} }
