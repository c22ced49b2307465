package actionloop

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestResponse(t *testing.T) {
	size := func(n int) *int { return &n }
	tests := []struct {
		name string
		line string
		want whisk.Response
	}{
		{"object", `{"a":1}`, whisk.Response{StatusCode: 0, Result: []byte(`{"a":1}`), Size: size(7)}},
		{"empty object", `{}`, whisk.Response{StatusCode: 0, Result: []byte(`{}`), Size: size(2)}},
		{"array", `[1,"two"]`, whisk.Response{StatusCode: 0, Result: []byte(`[1,"two"]`), Size: size(9)}},
		{"application error keeps only error", `{"b":{"error":1},"error":{"msg":"x"},"c":[]}`,
			whisk.Response{StatusCode: 1, Result: []byte(`{"error":{"msg":"x"}}`)}},
		{"escaped error key", `{"err\u006fr":false}`, whisk.Response{StatusCode: 1, Result: []byte(`{"error":false}`)}},
		{"nested error is not an error", `{"a":{"error":1},"s":"\"error\":"}`,
			whisk.Response{StatusCode: 0, Result: []byte(`{"a":{"error":1},"s":"\"error\":"}`), Size: size(34)}},
		{"developer error", `{"error":"An error has occurred: boom","__ow_developer_error":true}`,
			whisk.Response{StatusCode: 2, Result: []byte(`{"error":"An error has occurred: boom"}`)}},
		{"developer flag false", `{"__ow_developer_error":false,"error":"x"}`,
			whisk.Response{StatusCode: 1, Result: []byte(`{"error":"x"}`)}},
		{"string", `"hello"`, whisk.Response{StatusCode: 2,
			Result: []byte(`{"error":"The action did not produce a valid JSON or JSON Array response: \"hello\""}`)}},
		{"number", `42`, whisk.Response{StatusCode: 2,
			Result: []byte(`{"error":"The action did not produce a valid JSON or JSON Array response: 42"}`)}},
		{"null", `null`, whisk.Response{StatusCode: 2,
			Result: []byte(`{"error":"The action did not produce a valid JSON or JSON Array response: null"}`)}},
		{"invalid", `{"a":`, whisk.Response{StatusCode: 2,
			Result: []byte(`{"error":"The action did not produce a valid JSON or JSON Array response: {\"a\":"}`)}},
		{"empty", ``, whisk.Response{StatusCode: 2,
			Result: []byte(`{"error":"The action did not produce a valid JSON or JSON Array response"}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResponseOf([]byte(tt.line), len(tt.line))
			if diff := cmp.Diff(tt.want, got, cmp.Transformer("string", func(b []byte) string { return string(b) })); diff != "" {
				t.Errorf("ResponseOf(%s) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	// 'é' is two bytes: the prefix must not end in half of one.
	body := `{"ss":"` + strings.Repeat("é", MaxResultBytes/2) + `"}`
	got := ResponseOf([]byte(body)[:MaxResultBytes+1], len(body))
	if got.StatusCode != whisk.StatusApplicationError {
		t.Fatalf("status = %d, want 1", got.StatusCode)
	}
	msg := whisk.EnvString(got.Result[len(`{"error":`) : len(got.Result)-1])
	wantPrefix := "The action produced a response that exceeded the allowed length: " + strconv.Itoa(len(body)) +
		" > 1048576 bytes. The truncated response was: " + `{"ss":"é`
	if !strings.HasPrefix(msg, wantPrefix) {
		t.Errorf("message starts %q, want %q", msg[:200], wantPrefix)
	}
	if trunc := msg[strings.Index(msg, "was: ")+5:]; len(trunc) != MaxResultBytes-1 || !strings.HasSuffix(trunc, "é") {
		t.Errorf("truncated response has %d bytes, ends %q; want %d ending in é", len(trunc), trunc[len(trunc)-4:], MaxResultBytes-1)
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain ✓ 😀 <&>", `"plain ✓ 😀 <&>"`},
		{"q\"b\\n\nr\rt\t\x00\x1f", `"q\"b\\n\nr\rt\t\u0000\u001f"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
	}
	for _, tt := range tests {
		if got := string(appendString(nil, tt.in)); got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendRequest(t *testing.T) {
	r := &Request{
		Value: []byte("{\n  \"a\": \"x\"\r\n}"), Namespace: "guest", ActionName: "/guest/pkg/a", ActionVersion: "0.0.1",
		ActivationID: "0123456789abcdef0123456789abcdef", TransactionID: "tid", APIKey: "uuid:key",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	got := string(appendRequest(nil, r, time.UnixMilli(1700000000123)))
	want := `{"value":{   "a": "x"  },"namespace":"guest","action_name":"/guest/pkg/a","action_version":"0.0.1",` +
		`"activation_id":"0123456789abcdef0123456789abcdef","transaction_id":"tid","deadline":"1700000000123","api_key":"uuid:key",` +
		`"trace_parent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}` + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("appendRequest (-want +got):\n%s", diff)
	}
	got = string(appendRequest(nil, &Request{}, time.Time{}))
	want = `{"value":{},"namespace":"","action_name":"","action_version":"","activation_id":"","transaction_id":""}` + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("appendRequest of empty request (-want +got):\n%s", diff)
	}
}
