package knative

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func testPlatform(t *testing.T) *Platform {
	t.Helper()
	return &Platform{o: Options{RunKeys: NewRunKeys(testMaster)}, client: &http.Client{Transport: &http.Transport{}}}
}

// testMaster is the master run key of the unit tests' platforms.
var testMaster = []byte(strings.Repeat("m", 32))

// testTraceParent is the trace context of TestInvoke's activation: in the
// body for the runtime and as the header for Knative's own tracing.
const testTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestInvoke(t *testing.T) {
	a := baseAction()
	a.Limits.Timeout = 1000
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    *platform.Result // Start/End compared separately
		wantErr string
	}{{
		name: "warm success",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"response":{"statusCode":0,"result":{"ok":true}},"logs":["2024-01-01T00:00:00.000000000Z stdout: hi"],"timeout":false,"start":1000,"end":1005}`)
		},
		want: &platform.Result{
			Start: time.UnixMilli(1000), End: time.UnixMilli(1005),
			Response: whisk.Response{StatusCode: 0, Result: json.RawMessage(`{"ok":true}`)},
			Logs:     []string{"2024-01-01T00:00:00.000000000Z stdout: hi"},
		},
	}, {
		name: "cold start begins with the init",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"response":{"statusCode":2,"result":{"error":"boom"}},"logs":[],"timeout":true,"start":1000,"end":1500,"initTime":300}`)
		},
		want: &platform.Result{
			Start: time.UnixMilli(700), End: time.UnixMilli(1500), Cold: true, InitTime: 300 * time.Millisecond, Timeout: true,
			Response: whisk.Response{StatusCode: 2, Result: json.RawMessage(`{"error":"boom"}`)},
			Logs:     []string{},
		},
	}, {
		name: "connection lost after the request: the action died",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			hijack(t, w)
		},
		want: &platform.Result{
			Response: whisk.Response{StatusCode: 2, Result: whisk.ErrorResult(MsgRunExited)},
			Logs:     []string{"stderr: " + MsgLogsIncomplete},
		},
	}, {
		// The runtime reports the action's timeouts; Knative answers 504
		// at the revision's timeout, before the wait ends.
		name: "no answer within the wait: the platform's failure, not a timeout",
		handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		},
		wantErr: "did not answer within",
	}, {
		name: "502 from Knative: the container died under the request",
		handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream connect error", http.StatusBadGateway)
		},
		want: &platform.Result{
			Response: whisk.Response{StatusCode: 2, Result: whisk.ErrorResult(MsgRunExited)},
			Logs:     []string{"stderr: " + MsgLogsIncomplete},
		},
	}, {
		name: "an error status from Knative is the platform's",
		handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overload", http.StatusServiceUnavailable)
		},
		wantErr: "503 Service Unavailable: overload",
	}, {
		name: "an answer that is not a run response",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"ok":true}`)
		},
		wantErr: "invalid run response",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotc := make(chan wire.RunRequest, 1) // the handler's goroutine hands it over
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/run" {
					t.Errorf("%s %s, want POST /run", r.Method, r.URL.Path)
				}
				b, _ := io.ReadAll(r.Body)
				var got wire.RunRequest
				if err := json.Unmarshal(b, &got); err != nil {
					t.Errorf("run body %s: %v", b, err)
				}
				// Signed under the action's own key, expiring with the wait.
				key := runauth.Derive(testMaster, a.Path.FullyQualified())
				if exp, err := runauth.Check([][]byte{key}, r.Header.Get(runauth.Header), b); err != nil {
					t.Errorf("run request signature %q: %v", r.Header.Get(runauth.Header), err)
				} else if d := time.Until(exp); d <= 0 || d > 300*time.Millisecond {
					t.Errorf("run request expires in %s, want within the wait of 300ms", d)
				}
				if got := r.Header.Get("traceparent"); got != testTraceParent {
					t.Errorf("run request traceparent header %q, want %q", got, testTraceParent)
				}
				gotc <- got
				r.Body = io.NopCloser(strings.NewReader(""))
				tc.handler(w, r)
			}))
			defer srv.Close()
			req := &platform.RunRequest{
				Value: json.RawMessage(`{"x":1}`), Namespace: "guest", ActivationID: "0123456789abcdef0123456789abcdef",
				TransactionID: "tid", APIKey: "u:k", TraceParent: testTraceParent,
			}
			res, err := testPlatform(t).invoke(context.Background(), srv.URL, a, req, 300*time.Millisecond)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("invoke error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			wantReq := wire.RunRequest{
				Value: json.RawMessage(`{"x":1}`), Namespace: "guest", ActionName: "/guest/hello", ActionVersion: "0.0.1",
				ActivationID: "0123456789abcdef0123456789abcdef", TransactionID: "tid", APIKey: "u:k", TraceParent: testTraceParent,
			}
			if diff := cmp.Diff(wantReq, <-gotc); diff != "" {
				t.Errorf("run request (-want, +got):\n%s", diff)
			}
			if res.End.Before(res.Start) {
				t.Errorf("End %v before Start %v", res.End, res.Start)
			}
			if tc.want.Start.IsZero() { // measured by the gateway
				tc.want.Start, tc.want.End = res.Start, res.End
				for i, l := range res.Logs {
					if _, text, ok := strings.Cut(l, " "); ok {
						res.Logs[i] = text
					}
				}
			}
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("result (-want, +got):\n%s", diff)
			}
		})
	}
}

// hijack drops the connection without an answer, as a dying pod does.
func hijack(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.(*net.TCPConn).SetLinger(0)
	_ = conn.Close()
}

// TestInvokeRetriesARefusedSignature: a runtime that refuses the
// signature ran nothing, and may not have fetched a rotated key yet: the
// gateway tries once more after runauth.RefetchAfter, then gives up with
// an error naming the Secret.
func TestInvokeRetriesARefusedSignature(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  int // requests refused before the runtime accepts
		wantErr string
	}{
		{"accepted on the second try", 1, ""},
		{"refused twice", 2, "refused the gateway's run request (check the kwhisk-run-keys Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				got = append(got, r.Header.Get(runauth.Header))
				if len(got) <= tc.refuse {
					http.Error(w, `{"error":"the run request's signature is not valid for this action"}`, http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, `{"response":{"statusCode":0,"result":{"ok":true}},"logs":[],"start":1,"end":2}`)
			}))
			defer srv.Close()
			req := &platform.RunRequest{Value: json.RawMessage(`{}`), Namespace: "guest", ActivationID: "0123456789abcdef0123456789abcdef"}
			start := time.Now()
			res, err := testPlatform(t).invoke(context.Background(), srv.URL, baseAction(), req, 10*time.Second)
			if len(got) != 2 || got[0] == "" {
				t.Errorf("%d signed requests (%q), want 2", len(got), got)
			}
			if d := time.Since(start); d < runauth.RefetchAfter {
				t.Errorf("tried again after %s, want at least %s", d, runauth.RefetchAfter)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("invoke = %v, %v; want error %q", res, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(res.Response.Result) != `{"ok":true}` {
				t.Fatalf("invoke = %+v, %v; want the second answer", res, err)
			}
		})
	}
}

func TestInvokeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	a := baseAction()
	_, err = testPlatform(t).invoke(context.Background(), url, a, &platform.RunRequest{}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "send activation") {
		t.Errorf("invoke = %v, want a platform error before sending", err)
	}
}

func TestCodeTokens(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	path := whisk.EntityPath{Namespace: "guest", Package: "p", Name: "big"}
	d := Digest("code")
	tok := signToken(key, path, d)
	tests := []struct {
		name, token, digest string
		key                 []byte
		ok                  bool
	}{
		{"valid", tok, d, key, true},
		{"other digest", tok, Digest("other"), key, false},
		{"other key", tok, d, []byte(strings.Repeat("x", 32)), false},
		{"path swapped", signToken(key, whisk.EntityPath{Namespace: "evil", Name: "big"}, d)[:10] + tok[strings.Index(tok, "."):], d, key, false},
		{"garbage", "not a token", d, key, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := checkToken(tc.key, tc.token, tc.digest)
			if ok != tc.ok || (ok && got != path) {
				t.Errorf("checkToken = %v, %v; want %v, %v", got, ok, path, tc.ok)
			}
		})
	}
}

type fakeActions map[string]*whisk.Action

func (f fakeActions) GetAction(_ context.Context, p whisk.EntityPath) (*whisk.Action, error) {
	if a := f[p.String()]; a != nil {
		return a, nil
	}
	return nil, whisk.NotFound()
}

func (f fakeActions) ListActions(context.Context) ([]*whisk.Action, error) {
	var out []*whisk.Action
	for _, a := range f {
		out = append(out, a)
	}
	return out, nil
}

func TestCode(t *testing.T) {
	code := strings.Repeat("x", 100)
	stored := &whisk.Action{Namespace: "guest", Name: "big", Exec: whisk.Exec{Kind: "nodejs:20", Code: &code}}
	key := []byte(strings.Repeat("k", 32))
	p := &Platform{o: Options{CodeKey: key, RunKeys: NewRunKeys(testMaster), Actions: fakeActions{"guest/big": stored}}}
	path := stored.Path()
	tests := []struct {
		name, digest, token string
		want                string
		kind                whisk.Kind
	}{
		{"served", Digest(code), signToken(key, path, Digest(code)), code, 0},
		{"code changed since", Digest("old"), signToken(key, path, Digest("old")), "", whisk.KindNotFound},
		{"action gone", Digest(code), signToken(key, whisk.EntityPath{Namespace: "guest", Name: "gone"}, Digest(code)), "", whisk.KindNotFound},
		{"bad token", Digest(code), "x.y", "", whisk.KindUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Code(context.Background(), tc.digest, tc.token)
			if tc.kind != 0 {
				if !whisk.IsKind(err, tc.kind) {
					t.Errorf("Code error %v, want kind %v", err, tc.kind)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Code = %.20q, %v; want the code", got, err)
			}
		})
	}
}

func TestRuntimesOf(t *testing.T) {
	got := runtimesOf(map[string]string{
		"nodejs:22": "n22", "nodejs:20": "n20", "python:3.12": "p312", "python:3.11": "p311", "python:3.9": "p39",
		BlackboxKind: "proxy",
	})
	want := []platform.Runtime{
		{Family: "blackbox", Kind: "blackbox", Image: "proxy", Default: true},
		{Family: "nodejs", Kind: "nodejs:20", Image: "n20", Default: true},
		{Family: "nodejs", Kind: "nodejs:22", Image: "n22"},
		{Family: "python", Kind: "python:3.9", Image: "p39", Default: true},
		{Family: "python", Kind: "python:3.11", Image: "p311"},
		{Family: "python", Kind: "python:3.12", Image: "p312"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runtimesOf (-want, +got):\n%s", diff)
	}
}
