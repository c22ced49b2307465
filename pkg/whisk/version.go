package whisk

import (
	"fmt"
	"strconv"
	"strings"
)

// SemVer is an entity version "major.minor.patch".
type SemVer struct{ Major, Minor, Patch int }

// DefaultVersion is the version of a newly created entity.
var DefaultVersion = SemVer{0, 0, 1}

func (v SemVer) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Bump returns the version with the patch number incremented.
func (v SemVer) Bump() SemVer { v.Patch++; return v }

// ParseSemVer parses "x.y.z" (missing parts default to 0).
func ParseSemVer(s string) (SemVer, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) == 0 || len(parts) > 3 || parts[0] == "" {
		return SemVer{}, Malformed("bad semantic version " + strconv.Quote(s))
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return SemVer{}, Malformed("bad semantic version " + strconv.Quote(s))
		}
		n[i] = x
	}
	return SemVer{n[0], n[1], n[2]}, nil
}

// MarshalText renders the version as "x.y.z".
func (v SemVer) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses "x.y.z".
func (v *SemVer) UnmarshalText(b []byte) error {
	p, err := ParseSemVer(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
