package kube

import (
	"regexp"
	"strings"
	"testing"
)

var dns1035 = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

func TestName(t *testing.T) {
	tests := []struct {
		prefix, key string
		wantPrefix  string
	}{
		{"hello", "/guest/hello", "hello-"},
		{"Hello World", "/guest/Hello World", "hello-world-"},
		{"42", "/guest/42", "ow-42-"},
		{"@@@", "/guest/@@@", "ow-"},
		{"", "/guest/x", "ow-"},
		{"a--b__c..d", "/guest/a--b__c..d", "a-b-c-d-"},
		{strings.Repeat("long", 40), "/guest/long", "longlonglonglonglon-"},
		{"ünïcødé name", "/guest/u", "n-c-d-name-"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		got := Name(tc.prefix, tc.key, MaxNameLength)
		if !strings.HasPrefix(got, tc.wantPrefix) || len(got) > MaxNameLength || !dns1035.MatchString(got) {
			t.Errorf("Name(%q) = %q, want a DNS label of <= %d starting %q", tc.prefix, got, MaxNameLength, tc.wantPrefix)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("Name(%q) = Name(%q) = %q", tc.key, other, got)
		}
		seen[got] = tc.key
		if again := Name(tc.prefix, tc.key, MaxNameLength); again != got {
			t.Errorf("Name(%q) not deterministic: %q then %q", tc.prefix, got, again)
		}
	}
	if Name("a", "/ns1/a", 30) == Name("a", "/ns2/a", 30) {
		t.Error("equal prefixes of distinct keys share a name")
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"guest", "guest"},
		{"my_pkg.v2", "my_pkg.v2"},
		{"", ""},
		{"jane@example.com", "janeexample.com-" + Hash("jane@example.com", 16)},
		{"-x", "x-" + Hash("-x", 16)},
		{"@@", "h" + Hash("@@", 16)},
	}
	for _, tc := range tests {
		if got := LabelValue(tc.in); got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := LabelValue(strings.Repeat(tc.in, 30)); !validLabelValue(got) {
			t.Errorf("LabelValue(long %q) = %q: not a label value", tc.in, got)
		}
	}
}

func TestNamespaces(t *testing.T) {
	one := Namespaces{Base: "kwhisk-actions"}
	per := Namespaces{Base: "kwhisk", PerNamespace: true}
	tests := []struct {
		n    Namespaces
		ow   string
		want string
	}{
		{one, "guest", "kwhisk-actions"},
		{one, "jane@example.com", "kwhisk-actions"},
		{per, "guest", "kwhisk-guest"},
		{per, "Guest", "kwhisk-guest-" + Hash("Guest", 10)},
		{per, "jane@example.com", "kwhisk-jane-example-com-" + Hash("jane@example.com", 10)},
	}
	for _, tc := range tests {
		if got := tc.n.For(tc.ow); got != tc.want {
			t.Errorf("%+v.For(%q) = %q, want %q", tc.n, tc.ow, got, tc.want)
		}
	}
}
