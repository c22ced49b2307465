package wire

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	d := time.UnixMilli(1700000000123)
	if got := string(FormatDeadline(d)); got != `"1700000000123"` {
		t.Errorf("FormatDeadline = %s", got)
	}
	if FormatDeadline(time.Time{}) != nil {
		t.Error("FormatDeadline(zero) is not empty")
	}
	for _, raw := range []string{`"1700000000123"`, `1700000000123`} {
		if got := ParseDeadline(json.RawMessage(raw)); !got.Equal(d) {
			t.Errorf("ParseDeadline(%s) = %v", raw, got)
		}
	}
	for _, raw := range []string{``, `"x"`, `0`, `"-5"`} {
		if got := ParseDeadline(json.RawMessage(raw)); !got.IsZero() {
			t.Errorf("ParseDeadline(%s) = %v, want zero", raw, got)
		}
	}
}

// TestInitRequestKeys keeps the /init body a proxy sends byte for byte
// what a sorted map renders.
func TestInitRequestKeys(t *testing.T) {
	got, err := json.Marshal(InitRequest{Value: InitValue{Name: "a", Main: "main", Code: "x<y", Env: map[string]string{"b": "1", "a": "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(map[string]any{"value": map[string]any{
		"name": "a", "main": "main", "binary": false, "code": "x<y", "env": map[string]string{"b": "1", "a": "2"}}})
	if string(got) != string(want) {
		t.Errorf("got %s\nwant %s", got, want)
	}
	got, _ = json.Marshal(InitRequest{Value: InitValue{Name: "a", Main: "main"}})
	if want := `{"value":{"binary":false,"main":"main","name":"a"}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
