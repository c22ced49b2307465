package activation

import (
	"encoding/json"
	"testing"
)

// componentPath reads a conductor's "action" as OpenWhisk's
// FullyQualifiedEntityName.resolveName does.
func TestComponentPath(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" means invalid
	}{
		{`"step"`, "guest/step"},
		{`"pkg/step"`, "guest/pkg/step"},
		{`"other/pkg/step"`, "other/pkg/step"},
		{`"/other/step"`, "other/step"},
		{`"/other/pkg/step"`, "other/pkg/step"},
		{`"/_/step"`, "guest/step"},
		{`"_/pkg/step"`, "guest/pkg/step"},
		{`"//other//step/"`, "other/step"},
		{`"/step"`, ""},
		{`"a/b/c/d"`, ""},
		{`"/a/b/c/d"`, ""},
		{`""`, ""},
		{`"/"`, ""},
		{`"invalid#Action"`, ""},
		{`42`, ""},
		{`null`, ""},
		{`["step"]`, ""},
	} {
		p, ok := componentPath(json.RawMessage(tt.in), "guest")
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s resolved to %s, want invalid", tt.in, p)
		case tt.want != "" && (!ok || p.String() != tt.want):
			t.Errorf("%s = %s, %v; want %s", tt.in, p, ok, tt.want)
		}
	}
}

func TestConductorInput(t *testing.T) {
	in, _ := conductorInput(json.RawMessage(`{"n":1,"k":"payload"}`), nil, map[string]json.RawMessage{"k": json.RawMessage(`"state"`), "w": json.RawMessage(`2`)})
	var m map[string]any
	if err := json.Unmarshal(in, &m); err != nil || m["n"] != 1.0 || m["k"] != "state" || m["w"] != 2.0 {
		t.Errorf("state merged = %s, want state's fields over the payload's", in)
	}
	if in, _ := conductorInput(json.RawMessage(`[1]`), nil, nil); in != nil {
		t.Errorf("array payload = %s, want no input", in)
	}
	if got := string(boxed(map[string]json.RawMessage{"state": json.RawMessage(`3`)}, "state", "state")); got != `{"state":3}` {
		t.Errorf("boxed state = %s", got)
	}
	if got := MsgComponentInvalid(json.RawMessage(`{ "a" : 1 }`)); got != `Failed to parse action name from json value {"a":1} during composition.` {
		t.Errorf("invalid message = %q", got)
	}
}
