package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxNameLength is the longest object name Name returns: it leaves room
// for Knative's revision suffixes and tag prefixes within a 63-character
// DNS label.
const MaxNameLength = 30

// Hash returns the first n hex digits of the SHA-256 of s.
func Hash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// Name returns a deterministic DNS-1035 label of at most max characters
// for the thing identified by key: the readable part of prefix (lower
// case, runs of other characters as one '-'), cut to fit, then '-' and a
// hash of key. Distinct keys get distinct names (up to the hash).
func Name(prefix, key string, max int) string {
	const hashLen = 10
	room := max - hashLen - 1
	p := sanitize(prefix, room)
	if p == "" || p[0] < 'a' || p[0] > 'z' {
		p = "ow-" + p
		p = strings.TrimRight(cut(p, room), "-")
	}
	return p + "-" + Hash(key, hashLen)
}

// sanitize lower-cases s, keeps [a-z0-9], turns every other run into one
// '-', and trims dashes from both ends, within n characters.
func sanitize(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if b.Len() >= n {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return strings.Trim(cut(b.String(), n), "-")
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// LabelValue returns s when it is a valid label value, else a readable
// part of it and a hash, so `kubectl get -l key=value` finds ordinary
// OpenWhisk names as they are.
func LabelValue(s string) string {
	if validLabelValue(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (isAlnum(byte(r)) || r == '-' || r == '_' || r == '.') {
			b.WriteRune(r)
		}
	}
	p := strings.Trim(cut(b.String(), 40), "-_.")
	if p == "" {
		return "h" + Hash(s, 16)
	}
	return p + "-" + Hash(s, 16)
}

func validLabelValue(s string) bool {
	if len(s) > 63 {
		return false
	}
	if s == "" {
		return true
	}
	if !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Namespaces maps OpenWhisk namespaces to Kubernetes namespaces: all into
// one (Base), or one each (PerNamespace), named Base-<ns>.
type Namespaces struct {
	Base         string
	PerNamespace bool
}

// For returns the Kubernetes namespace of OpenWhisk namespace ns.
func (n Namespaces) For(ns string) string {
	if !n.PerNamespace {
		return n.Base
	}
	// A namespace name is a DNS-1123 label of up to 63 characters.
	if s := sanitize(ns, 63); s == ns && len(n.Base)+1+len(s) <= 63 {
		return n.Base + "-" + s
	}
	return Name(n.Base+"-"+ns, ns, 63)
}
