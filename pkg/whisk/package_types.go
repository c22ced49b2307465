package whisk

import "encoding/json"

// DefaultPackage is the reserved name of the package-less space.
const DefaultPackage = "default"

// Binding names the package a binding points at; empty for a package.
type Binding struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// IsZero reports whether b binds nothing.
func (b Binding) IsZero() bool { return b.Namespace == "" && b.Name == "" }

// Path returns the bound package's path as an entity path (no package).
func (b Binding) Path() EntityPath { return EntityPath{Namespace: b.Namespace, Name: b.Name} }

// Package is an OpenWhisk package or package binding as stored.
type Package struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Binding     Binding   `json:"binding"`
	Parameters  KeyValues `json:"parameters"`
	Version     SemVer    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"`
}

// IsBinding reports whether p is a binding.
func (p *Package) IsBinding() bool { return !p.Binding.IsZero() }

// Path returns the package's entity path.
func (p *Package) Path() EntityPath { return EntityPath{Namespace: p.Namespace, Name: p.Name} }

// PackagePut is the body of PUT .../packages/{name}.
type PackagePut struct {
	Binding     *Binding   `json:"binding,omitempty"`
	Parameters  *KeyValues `json:"parameters,omitempty"`
	Version     *SemVer    `json:"version,omitempty"`
	Publish     *bool      `json:"publish,omitempty"`
	Annotations *KeyValues `json:"annotations,omitempty"`
}

// PackageAction is an action as a package GET lists it.
type PackageAction struct {
	Name        string    `json:"name"`
	Version     SemVer    `json:"version"`
	Annotations KeyValues `json:"annotations"`
}

// PackageView is a package GET: the document plus its actions and feeds.
type PackageView struct {
	Package
	Actions []PackageAction `json:"actions"`
	Feeds   []PackageAction `json:"feeds"`
}

// PackageSummary is a list element; binding is false for packages.
type PackageSummary struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     SemVer          `json:"version"`
	Publish     bool            `json:"publish"`
	Annotations KeyValues       `json:"annotations"`
	Updated     int64           `json:"updated"`
	Binding     json.RawMessage `json:"binding"`
}

// Summary returns the list view of p.
func (p *Package) Summary() PackageSummary {
	s := PackageSummary{Namespace: p.Namespace, Name: p.Name, Version: p.Version, Publish: p.Publish,
		Annotations: nonNil(p.Annotations), Updated: p.Updated, Binding: json.RawMessage("false")}
	if p.IsBinding() {
		s.Binding, _ = json.Marshal(p.Binding) // a struct of strings always marshals
	}
	return s
}

func nonNil(kv KeyValues) KeyValues {
	if kv == nil {
		return KeyValues{}
	}
	return kv
}
