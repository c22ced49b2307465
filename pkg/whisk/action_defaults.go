package whisk

import "encoding/json"

// NewAction builds a new action at path from a PUT body whose exec has
// already been resolved: version 0.0.1 unless given, default limits patched
// by the body, provide-api-key:false added when absent, exec annotation set.
func NewAction(path EntityPath, put *ActionPut, exec Exec, bounds LimitBounds, now int64) *Action {
	a := &Action{
		Namespace: path.Parent(), Name: path.Name, Exec: exec,
		Parameters: KeyValues{}, Annotations: KeyValues{},
		Limits: put.Limits.Apply(bounds.Defaults()), Version: DefaultVersion, Updated: now,
	}
	if put.Version != nil {
		a.Version = *put.Version
	}
	if put.Publish != nil {
		a.Publish = *put.Publish
	}
	if put.Parameters != nil {
		a.Parameters = append(KeyValues{}, (*put.Parameters)...)
	}
	if put.Annotations != nil {
		a.Annotations = KeyValues{}.Merge(*put.Annotations)
	}
	if !a.Annotations.Has("provide-api-key") {
		a.Annotations = a.Annotations.Set("provide-api-key", false)
	}
	a.Annotations = a.Annotations.Set("exec", exec.Kind)
	return a
}

// Update returns a copy of a updated by a PUT body: exec replaced if given
// (exec may be nil), parameters replaced, annotations merged after
// delAnnotations, limits patched per field, version given or bumped.
func (a *Action) Update(put *ActionPut, exec *Exec, now int64) *Action {
	n := *a
	if exec != nil {
		n.Exec = *exec
	}
	if put.Parameters != nil {
		n.Parameters = append(KeyValues{}, (*put.Parameters)...)
	}
	ann := append(KeyValues{}, a.Annotations...)
	if len(put.DelAnnotations) > 0 {
		ann = ann.Delete(put.DelAnnotations...)
	}
	if put.Annotations != nil {
		ann = ann.Merge(*put.Annotations)
	}
	n.Annotations = ann.Set("exec", n.Exec.Kind)
	n.Limits = put.Limits.Apply(a.Limits)
	if put.Version != nil {
		n.Version = *put.Version
	} else {
		n.Version = a.Version.Bump()
	}
	if put.Publish != nil {
		n.Publish = *put.Publish
	}
	n.Updated = now
	return &n
}

// ActionView is an action as GET renders it; code is omitted unless asked.
func (a *Action) View(withCode bool) *Action {
	v := *a
	if !withCode {
		v.Exec.Code = nil
	}
	if v.Parameters == nil {
		v.Parameters = KeyValues{}
	}
	if v.Annotations == nil {
		v.Annotations = KeyValues{}
	}
	return &v
}

// ActionSummary is a list element: no parameters and no code.
type ActionSummary struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     SemVer    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Limits      Limits    `json:"limits"`
	Exec        struct {
		Binary bool `json:"binary"`
	} `json:"exec"`
	Updated int64 `json:"updated"`
}

// Summary returns the list view of a.
func (a *Action) Summary() ActionSummary {
	s := ActionSummary{Namespace: a.Namespace, Name: a.Name, Version: a.Version, Publish: a.Publish,
		Annotations: a.Annotations, Limits: a.Limits, Updated: a.Updated}
	if s.Annotations == nil {
		s.Annotations = KeyValues{}
	}
	s.Exec.Binary = a.Exec.Binary
	return s
}

// RunParameters merges the action's parameters that are not init
// parameters with the invoke payload (payload wins) into one object.
func (a *Action) RunParameters(payload map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(a.Parameters)+len(payload))
	for _, p := range a.Parameters {
		if !p.Init {
			out[p.Key] = p.Value
		}
	}
	for k, v := range payload {
		out[k] = v
	}
	return out
}

// FinalViolation reports whether the payload overrides a parameter that is
// already defined (non-null) on an action annotated final:true.
func (a *Action) FinalViolation(payload map[string]json.RawMessage) bool {
	if !a.Annotations.IsTrue("final") {
		return false
	}
	for _, p := range a.Parameters {
		if _, ok := payload[p.Key]; ok && string(p.Value) != "null" {
			return true
		}
	}
	return false
}
