package whisk

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"a", true},
		{"_", true},
		{"hello Async", true},
		{"TWICE", true},
		{"a.b-c@d&e", true},
		{"x-", true},
		{"", false},
		{" ", false},
		{"hi+there", false},
		{"$hola", false},
		{"dora?", false},
		{"|dora|dora?", false},
		{"trailing ", false},
		{"-lead", false},
		{"ünï", false},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.name); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckNameMessages(t *testing.T) {
	if err := CheckName("hi+there"); err == nil || err.Error() != MsgIllegalName || KindOf(err) != KindInvalid {
		t.Errorf("CheckName(hi+there) = %v", err)
	}
	long := strings.Repeat("a", 300)
	if err := CheckName(long); err == nil || err.Error() != "Name segement longer than allowed: 300 > 256." {
		t.Errorf("CheckName(long) = %v", err)
	}
	if err := CheckNamespace("a b?"); err == nil || err.Error() != MsgIllegalNamespace {
		t.Errorf("CheckNamespace = %v", err)
	}
}

func TestParseFullyQualified(t *testing.T) {
	tests := []struct {
		in      string
		want    EntityPath
		wantErr string
	}{
		{in: "/guest/a", want: EntityPath{Namespace: "guest", Name: "a"}},
		{in: "guest/pkg/a", want: EntityPath{Namespace: "guest", Package: "pkg", Name: "a"}},
		{in: "/_/pkg/a", want: EntityPath{Namespace: "_", Package: "pkg", Name: "a"}},
		{in: "//guest//a", want: EntityPath{Namespace: "guest", Name: "a"}},
		{in: "a", wantErr: "must contain at least the namespace and the name"},
		{in: "/a/b/c/d", wantErr: "not valid"},
		{in: "/guest/hi+there", wantErr: MsgIllegalName},
	}
	for _, tt := range tests {
		got, err := ParseFullyQualified(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFullyQualified(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFullyQualified(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseFullyQualified(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestEntityPathForms(t *testing.T) {
	p := EntityPath{Namespace: "guest", Package: "pkg", Name: "a"}
	got := []string{p.Parent(), p.String(), p.FullyQualified(), p.Qualified()}
	want := []string{"guest/pkg", "guest/pkg/a", "/guest/pkg/a", "pkg/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forms (-want +got):\n%s", diff)
	}
	if got := (EntityPath{Namespace: "_", Name: "x"}).Resolve("me").String(); got != "me/x" {
		t.Errorf("Resolve = %q", got)
	}
}

func FuzzEntityPath(f *testing.F) {
	for _, s := range []string{"/guest/a", "ns/pkg/a", "a", "", "/_/x y", "////", "/a/b/c/d", "\x00/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseFullyQualified(s)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("ParseFullyQualified(%q) error kind %v, want invalid", s, KindOf(err))
			}
			return
		}
		if p.Name == "" || p.Namespace == "" {
			t.Fatalf("ParseFullyQualified(%q) = %+v without namespace or name", s, p)
		}
		if !ValidName(p.Name) {
			t.Fatalf("ParseFullyQualified(%q) accepted invalid name %q", s, p.Name)
		}
		_ = CheckName(s)
		_ = CheckActivationID(s)
		_ = IsBinaryCode(s)
	})
}
