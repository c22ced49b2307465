// Package wire is the HTTP runtime protocol between the gateway's Knative
// platform and a runtime image (docs/runtime-protocol.md): the
// environment a revision gets, the /init and /run bodies and the code
// digest. It is defined once here so both sides marshal the same shapes;
// it holds no behaviour beyond encoding, and imports only the standard
// library and pkg/whisk so the runtime images stay small.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The environment the gateway gives a runtime container.
const (
	// EnvAction holds the ActionEnv of the action a revision runs.
	EnvAction = "KWHISK_ACTION"
	// EnvCodeURL is where to GET code that is not inline in EnvAction.
	EnvCodeURL = "KWHISK_CODE_URL"
	// EnvCodeToken is the bearer token of that GET and of the GET of
	// EnvRunKeysURL: it names the action and its code digest.
	EnvCodeToken = "KWHISK_CODE_TOKEN"
	// EnvRunKeysURL is where to GET the action's run keys (RunKeys): a
	// runtime with it set refuses every /run the gateway did not sign
	// (pkg/runtime/runauth).
	EnvRunKeysURL = "KWHISK_RUN_KEYS_URL"
	// EnvBlackbox tells the runtime proxy of a blackbox action where the
	// user's image listens (OpenWhisk's /init and /run), inside the pod.
	EnvBlackbox = "KWHISK_BLACKBOX_URL"
	// EnvAPIHost is the gateway as actions see it.
	EnvAPIHost = "__OW_API_HOST"
)

// ActionEnv is the value of EnvAction: the action a Knative revision runs.
type ActionEnv struct {
	Name    string            `json:"name"` // fully qualified: "/ns/pkg/a"
	Version string            `json:"version"`
	Kind    string            `json:"kind"`
	Main    string            `json:"main"`
	Binary  bool              `json:"binary"`
	Code    *string           `json:"code,omitempty"` // nil: fetch it from EnvCodeURL
	Digest  string            `json:"digest"`         // Digest of Code as stored
	Image   string            `json:"image,omitempty"`
	Limits  *whisk.Limits     `json:"limits,omitempty"`
	Env     map[string]string `json:"env,omitempty"` // init parameters
}

// Digest is the content digest of code as runtimes check it:
// "sha256:<hex>" of the code exactly as stored (base64 text when binary).
func Digest(code string) string {
	sum := sha256.Sum256([]byte(code))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RunKeys is the answer to a GET of EnvRunKeysURL: the keys of the
// revision's action, hex, under every master key the gateway holds.
type RunKeys struct {
	Keys []string `json:"keys"`
}

// RunRequest is OpenWhisk's /run body, which the gateway sends to a
// revision and a blackbox proxy passes on to the action's image.
type RunRequest struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace"`
	ActionName    string          `json:"action_name"` // fully qualified
	ActionVersion string          `json:"action_version"`
	ActivationID  string          `json:"activation_id"`
	TransactionID string          `json:"transaction_id"`
	// Deadline is epoch milliseconds: a string as OpenWhisk sends it (see
	// FormatDeadline), though a number is accepted. OpenWhisk's invoker
	// sends it in classic mode; in Knative mode the gateway leaves it out
	// and the runtime sets it from when the run reaches it, since the
	// request may have waited for the pod in Knative's activator.
	Deadline json.RawMessage `json:"deadline,omitempty"`
	APIKey   string          `json:"api_key,omitempty"`
	// TraceParent is the W3C traceparent the activation runs in, also
	// sent as the request's traceparent header (HeaderTraceParent) for
	// Knative's own tracing; the action sees it as __OW_TRACE_PARENT.
	TraceParent string `json:"trace_parent,omitempty"`
}

// HeaderTraceParent is the W3C Trace Context header of a /run request, in
// Go's canonical form.
const HeaderTraceParent = "Traceparent"

// FormatDeadline renders t as a RunRequest's deadline; the zero time is
// no deadline (the field is left out).
func FormatDeadline(t time.Time) json.RawMessage {
	if t.IsZero() {
		return nil
	}
	return json.RawMessage(strconv.Quote(strconv.FormatInt(t.UnixMilli(), 10)))
}

// ParseDeadline reads a RunRequest's deadline; the zero time means none or
// one that is not a positive number of milliseconds.
func ParseDeadline(raw json.RawMessage) time.Time {
	ms := strings.Trim(string(raw), `"`)
	if n, err := strconv.ParseInt(ms, 10, 64); err == nil && n > 0 {
		return time.UnixMilli(n)
	}
	return time.Time{}
}

// RunResponse is a Knative-mode runtime's answer to /run: the activation's
// response and logs, with the times the gateway records. Times are epoch
// milliseconds.
type RunResponse struct {
	Response *whisk.Response `json:"response"` // never nil in a valid answer
	Logs     []string        `json:"logs"`
	Timeout  bool            `json:"timeout"`
	Start    int64           `json:"start"`
	End      int64           `json:"end"`
	// InitTime is the init's duration, present on the first run of each
	// launcher instance: that run is a cold start.
	InitTime *int64 `json:"initTime,omitempty"`
}

// InitRequest is OpenWhisk's /init body: what a classic-mode runtime
// takes and what a blackbox proxy sends to the action's image.
type InitRequest struct {
	Value InitValue `json:"value"`
}

// InitValue is the action an InitRequest loads. The fields are in the
// order of their keys, so the encoding matches a sorted map's.
type InitValue struct {
	Binary bool              `json:"binary"`
	Code   string            `json:"code,omitempty"`
	Env    map[string]string `json:"env,omitempty"` // init parameters
	Main   string            `json:"main"`
	Name   string            `json:"name"`
}
