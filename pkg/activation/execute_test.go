package activation

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestMergeInput(t *testing.T) {
	params := whisk.KeyValues{
		{Key: "a", Value: json.RawMessage(`1`)},
		{Key: "b", Value: json.RawMessage(`"B"`)},
		{Key: "secret", Value: json.RawMessage(`"s"`), Init: true},
	}
	tests := []struct {
		name   string
		params whisk.KeyValues
		input  string
		want   map[string]any // nil: compare raw
		raw    string
	}{
		{name: "payload wins", params: params, input: `{"b":"payload","c":[1]}`, want: map[string]any{"a": 1.0, "b": "payload", "c": []any{1.0}}},
		{name: "empty object", params: params, input: `{}`, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "no input", params: params, input: ``, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "scalar input counts as none", params: params, input: `42`, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "array passes as is", params: params, input: `[1,2]`, raw: `[1,2]`},
		{name: "no params keeps the bytes", input: ` {"x": 1} `, raw: `{"x": 1}`},
		{name: "no params, no input", input: ``, raw: `{}`},
		{name: "later duplicate wins", params: whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}, {Key: "a", Value: json.RawMessage(`2`)}}, input: `{}`, want: map[string]any{"a": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeInput(tt.params, json.RawMessage(tt.input), nil)
			if tt.want == nil {
				if string(got) != tt.raw {
					t.Errorf("got %s, want %s", got, tt.raw)
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			if diff := cmp.Diff(tt.want, m); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
