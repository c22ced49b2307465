package whisk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestNewActionDefaults(t *testing.T) {
	mem := 512
	put := &ActionPut{Limits: &LimitsPatch{Memory: &mem}, Annotations: &KeyValues{{Key: "a", Value: raw(`1`)}}}
	a := NewAction(EntityPath{Namespace: "guest", Package: "p", Name: "x"}, put, Exec{Kind: "nodejs:20"}, DefaultBounds, 42)
	if a.Namespace != "guest/p" || a.Name != "x" || a.Version.String() != "0.0.1" || a.Updated != 42 {
		t.Errorf("identity fields = %q %q %s %d", a.Namespace, a.Name, a.Version, a.Updated)
	}
	if diff := cmp.Diff(Limits{Timeout: 60000, Memory: 512, Logs: 10, Concurrency: 1}, a.Limits); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	want := KeyValues{{Key: "a", Value: raw(`1`)}, {Key: "provide-api-key", Value: raw(`false`)}, {Key: "exec", Value: raw(`"nodejs:20"`)}}
	if diff := cmp.Diff(want, a.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
}

func TestActionUpdate(t *testing.T) {
	old := NewAction(EntityPath{Namespace: "guest", Name: "x"},
		&ActionPut{Parameters: &KeyValues{{Key: "a", Value: raw(`"A"`)}}, Annotations: &KeyValues{{Key: "keep", Value: raw(`1`)}, {Key: "drop", Value: raw(`2`)}}},
		Exec{Kind: "nodejs:20"}, DefaultBounds, 1)
	timeout := 1000
	n := old.Update(&ActionPut{
		Parameters:     &KeyValues{{Key: "b", Value: raw(`"B"`)}},
		Annotations:    &KeyValues{{Key: "new", Value: raw(`true`)}, {Key: "keep", Value: raw(`3`)}},
		DelAnnotations: []string{"drop"},
		Limits:         &LimitsPatch{Timeout: &timeout},
	}, nil, 2)
	if diff := cmp.Diff(KeyValues{{Key: "b", Value: raw(`"B"`)}}, n.Parameters); diff != "" {
		t.Errorf("parameters replaced (-want +got):\n%s", diff)
	}
	wantAnn := KeyValues{{Key: "keep", Value: raw(`3`)}, {Key: "provide-api-key", Value: raw(`false`)}, {Key: "exec", Value: raw(`"nodejs:20"`)}, {Key: "new", Value: raw(`true`)}}
	if diff := cmp.Diff(wantAnn, n.Annotations); diff != "" {
		t.Errorf("annotations merged (-want +got):\n%s", diff)
	}
	if n.Version.String() != "0.0.2" || n.Limits.Timeout != 1000 || n.Limits.Memory != 256 || n.Updated != 2 {
		t.Errorf("version %s limits %+v updated %d", n.Version, n.Limits, n.Updated)
	}
	if old.Version.String() != "0.0.1" || len(old.Parameters) != 1 {
		t.Errorf("Update changed the original: %s %v", old.Version, old.Parameters)
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		l    Limits
		want string
	}{
		{Limits{Timeout: 100, Memory: 128, Logs: 0, Concurrency: 1}, ""},
		{Limits{Timeout: 300000, Memory: 512, Logs: 10, Concurrency: 1}, ""},
		{Limits{Timeout: 50, Memory: 256, Logs: 10, Concurrency: 1}, "duration 50 milliseconds below allowed threshold of 100 milliseconds"},
		{Limits{Timeout: 1000, Memory: 1024, Logs: 10, Concurrency: 1}, "memory 1024 MB exceeds allowed threshold of 512 MB"},
		{Limits{Timeout: 1000, Memory: 256, Logs: 20, Concurrency: 1}, "log 20 MB exceeds allowed threshold of 10 MB"},
		{Limits{Timeout: 1000, Memory: 256, Logs: 10, Concurrency: 500}, ""},
		{Limits{Timeout: 1000, Memory: 256, Logs: 10, Concurrency: 501}, "concurrency 501 exceeds allowed threshold of 500"},
	}
	for _, tt := range tests {
		err := DefaultBounds.Validate(tt.l, 0)
		got := ""
		if err != nil {
			got = err.Error()
			if KindOf(err) != KindInvalid {
				t.Errorf("Validate(%+v) kind = %v", tt.l, KindOf(err))
			}
		}
		if got != tt.want {
			t.Errorf("Validate(%+v) = %q, want %q", tt.l, got, tt.want)
		}
	}
}

func TestIsBinaryCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"UEsDBAoAAAAAAA==", true},
		{"abcd", true}, // plain text that looks like base64 counts as binary
		{"function main() {}", false},
		{"", false},
		{"abc", false},
		{"ab=c", false},
		{"  UEsD  ", true},
	}
	for _, tt := range tests {
		if got := IsBinaryCode(tt.code); got != tt.want {
			t.Errorf("IsBinaryCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestCheckSizes(t *testing.T) {
	big := raw(`"` + strings.Repeat("x", MaxParametersSize) + `"`)
	err := (&ActionPut{Parameters: &KeyValues{{Key: "k", Value: big}}}).CheckSizes()
	if KindOf(err) != KindTooLarge || !strings.HasPrefix(err.Error(), "parameters larger than allowed: ") {
		t.Errorf("CheckSizes = %v", err)
	}
}

func TestFinalViolation(t *testing.T) {
	a := &Action{Parameters: KeyValues{{Key: "x", Value: raw(`1`)}, {Key: "n", Value: raw(`null`)}}, Annotations: KeyValues{{Key: "final", Value: raw(`true`)}}}
	if !a.FinalViolation(map[string]json.RawMessage{"x": raw(`2`)}) {
		t.Error("override of a defined final parameter allowed")
	}
	if a.FinalViolation(map[string]json.RawMessage{"n": raw(`2`), "y": raw(`3`)}) {
		t.Error("null or new parameter refused")
	}
	a.Annotations = KeyValues{{Key: "final", Value: raw(`"true"`)}}
	if a.FinalViolation(map[string]json.RawMessage{"x": raw(`2`)}) {
		t.Error("final must be the boolean true")
	}
}

func TestActivationViews(t *testing.T) {
	a := &Activation{Namespace: "guest", Name: "x", ActivationID: "0123456789abcdef0123456789abcdef", Start: 10, End: 15, Duration: 5,
		Response:    Response{StatusCode: StatusApplicationError, Result: raw(`{"error":"e"}`)},
		Annotations: KeyValues{{Key: "path", Value: raw(`"guest/pkg/x"`)}}}
	v := a.View()
	if v.Response.Status != "application error" || v.Response.Success || v.Duration == nil || *v.Duration != 5 {
		t.Errorf("View = %+v", v)
	}
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), "statusCode") {
		t.Errorf("view leaks statusCode: %s", b)
	}
	if s := a.Summary(); s.StatusCode != 1 {
		t.Errorf("summary statusCode = %d", s.StatusCode)
	}
	if got := a.EntityName(); got != "pkg/x" {
		t.Errorf("EntityName = %q", got)
	}
	a.Annotations = a.Annotations.Set("binding", "guest/bound")
	if got := a.EntityName(); got != "bound/x" {
		t.Errorf("EntityName with binding = %q", got)
	}
	trig := &Activation{Name: "t", Start: 1}
	b, _ = json.Marshal(trig.View())
	if strings.Contains(string(b), `"end"`) || strings.Contains(string(b), `"duration"`) {
		t.Errorf("trigger view has end/duration: %s", b)
	}
}

func TestCheckActivationID(t *testing.T) {
	if err := CheckActivationID("abc"); err == nil || err.Error() != "Activation id length is 3 but must be 32." {
		t.Errorf("short id: %v", err)
	}
	if err := CheckActivationID(strings.Repeat("g", 32)); err == nil || err.Error() != "The activation id is not valid." {
		t.Errorf("non-hex id: %v", err)
	}
	if err := CheckActivationID(string(NewActivationID())); err != nil {
		t.Errorf("fresh id: %v", err)
	}
}

func TestEnvString(t *testing.T) {
	for in, want := range map[string]string{`"s"`: "s", `null`: "", `1.5`: "1.5", `true`: "true", `{"a": [1, 2]}`: `{"a":[1,2]}`} {
		if got := EnvString(raw(in)); got != want {
			t.Errorf("EnvString(%s) = %q, want %q", in, got, want)
		}
	}
}
