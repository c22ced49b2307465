package whisk

import (
	"strings"
)

// MaxNameLength is the longest entity name or namespace segment accepted.
const MaxNameLength = 256

// DefaultNamespace is the path segment that stands for the caller's namespace.
const DefaultNamespace = "_"

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// ValidName reports whether s is a legal entity name: the Java-flavoured
// pattern \A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z, where \w is ASCII.
func ValidName(s string) bool {
	n := len(s)
	if n == 0 || n > MaxNameLength || !isWordByte(s[0]) {
		return false
	}
	for i := 1; i < n; i++ {
		c := s[i]
		switch {
		case isWordByte(c), c == '@', c == '.', c == '&', c == '-':
		case c == ' ' && i < n-1:
		default:
			return false
		}
	}
	return true
}

// CheckName validates one entity-name path segment with OpenWhisk's messages.
func CheckName(s string) error {
	if len(s) > MaxNameLength {
		return Invalid("Name segement longer than allowed: %d > %d.", len(s), MaxNameLength)
	}
	if !ValidName(s) {
		return Invalid(MsgIllegalName)
	}
	return nil
}

// CheckNamespace validates a namespace path segment (not "_").
func CheckNamespace(s string) error {
	if len(s) > MaxNameLength {
		return Invalid("Name segement longer than allowed: %d > %d.", len(s), MaxNameLength)
	}
	if !ValidName(s) {
		return Invalid(MsgIllegalNamespace)
	}
	return nil
}

// EntityPath names an entity: a namespace, an optional package and a name.
// Its zero Package means the default package.
type EntityPath struct {
	Namespace string
	Package   string
	Name      string
}

// Parent is the entity's "namespace" field as OpenWhisk shows it:
// "ns" or "ns/pkg".
func (p EntityPath) Parent() string {
	if p.Package == "" {
		return p.Namespace
	}
	return p.Namespace + "/" + p.Package
}

// String is the path without a leading slash: "ns/name" or "ns/pkg/name".
func (p EntityPath) String() string { return p.Parent() + "/" + p.Name }

// FullyQualified is the path with a leading slash, as sequence components
// and __OW_ACTION_NAME show it.
func (p EntityPath) FullyQualified() string { return "/" + p.String() }

// Qualified returns the package-relative name "pkg/name" or "name".
func (p EntityPath) Qualified() string {
	if p.Package == "" {
		return p.Name
	}
	return p.Package + "/" + p.Name
}

// Resolve replaces "_" as namespace with ns.
func (p EntityPath) Resolve(ns string) EntityPath {
	if p.Namespace == DefaultNamespace || p.Namespace == "" {
		p.Namespace = ns
	}
	return p
}

// ParseParent splits an entity's namespace field "ns" or "ns/pkg".
func ParseParent(s string) (ns, pkg string) {
	ns, pkg, _ = strings.Cut(s, "/")
	return ns, pkg
}

// ParseFullyQualified parses a name found in a request body the way the
// server does: split on "/", empty parts dropped, the first part is the
// namespace and the last the name; at most one package between them.
func ParseFullyQualified(s string) (EntityPath, error) {
	var parts []string
	for _, p := range strings.Split(s, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	var p EntityPath
	switch len(parts) {
	case 2:
		p = EntityPath{Namespace: parts[0], Name: parts[1]}
	case 3:
		p = EntityPath{Namespace: parts[0], Package: parts[1], Name: parts[2]}
	default:
		if len(parts) < 2 {
			return p, Malformed("The fully qualified name of the entity must contain at least the namespace and the name of the entity.")
		}
		return p, Malformed("The fully qualified name of the entity is not valid: " + s)
	}
	if p.Namespace != DefaultNamespace {
		if err := CheckNamespace(p.Namespace); err != nil {
			return p, err
		}
	}
	for _, seg := range []string{p.Package, p.Name} {
		if seg == "" {
			continue
		}
		if err := CheckName(seg); err != nil {
			return p, err
		}
	}
	return p, nil
}
