// Package platform is the seam between the OpenWhisk control plane and the
// data plane that runs code: local processes (platform/local) or Knative
// Services (platform/knative). Every implementation passes platformtest.Run.
//
// A platform runs one activation of one action version at a time per call;
// it decides where, on how many instances, and when to start and stop them.
// Failures of user code (init errors, crashes, timeouts, bad output) are not
// errors: they come back as a Result with a developer-error status. Run
// returns an error only when the platform itself failed; the caller records
// that as a whisk internal error.
//
// The platform also hears of the action lifecycle: the entity collection
// calls Deploy after every successful create or update of an action and
// Remove after every delete (a package's forced delete included), so a
// platform lets go of old versions at once instead of at its idle timeout.
package platform

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Action is what a platform needs to run one version of an action.
type Action struct {
	// Key identifies the action version; equal keys mean identical code.
	Key     string
	Path    whisk.EntityPath // the action's own path (not the caller's)
	Version string
	Kind    string // concrete kind, e.g. "nodejs:20"
	Code    string // source text, or base64 when Binary
	Binary  bool
	Main    string // entry point; "" means "main"
	Image   string // blackbox image
	// Env holds parameters marked init:true, rendered as strings.
	Env    map[string]string
	Limits whisk.Limits
	// Annotations are the action's own; Knative takes its autoscaling
	// ones onto the revision.
	Annotations whisk.KeyValues
	// Updated is the version's write stamp (epoch ms, strictly increasing
	// within the gateway that wrote it). Of two versions of one path the
	// one with the larger stamp is current, across a delete and re-create
	// too (version numbers start over): it tells a platform whether a
	// version it is asked to run is still the stored one, without reading
	// the store. 0 means unknown.
	Updated int64
}

// ActionRef names a deleted action: its path, and the Updated stamp of
// the version deleted, which orders the Remove against a Deploy of the
// same path (a re-created action is newer).
type ActionRef struct {
	Path    whisk.EntityPath
	Updated int64
}

// RunRequest is one activation's input and context. It carries no
// deadline: the platform starts the action's time limit when it hands the
// activation to what runs it (see Platform.Run).
type RunRequest struct {
	Value         json.RawMessage // the merged parameters (object or array)
	Namespace     string          // the invoking namespace
	ActivationID  whisk.ActivationID
	TransactionID string
	APIKey        string // "uuid:key" only when provide-api-key is truthy
	// TraceParent is the W3C traceparent the activation runs in; "" if
	// none. The action sees it as __OW_TRACE_PARENT.
	TraceParent string
}

// Result is the outcome of one activation.
type Result struct {
	Start    time.Time // init start on a cold start, else run start
	End      time.Time
	InitTime time.Duration // 0 on a warm start
	Cold     bool
	Timeout  bool // run or init exceeded the action's time limit
	Response whisk.Response
	Logs     []string // "<timestamp> <stream>: <text>" lines
}

// Platform runs actions.
type Platform interface {
	// Run runs one activation of a and blocks until it has a result or ctx
	// ends. It never runs the activation twice: a request that may have
	// reached user code is not retried.
	//
	// The action's time limit (a.Limits.Timeout) and its __OW_DEADLINE
	// start when the run is handed to the instance that runs it, as
	// OpenWhisk counts neither a container's start nor queueing against
	// the limit: the time before (a queue, a Service becoming Ready) is
	// the record's waitTime, and a cold start's init its initTime. Run
	// bounds that wait itself (local mode by the action's time limit,
	// Knative by its ReadyTimeout), so with the limit and the platform's
	// margins it always returns; ctx only cancels.
	Run(ctx context.Context, a *Action, req *RunRequest) (*Result, error)
	// Deploy tells the platform that a is now the stored version of its
	// action, just created or updated. The platform retires every other
	// version of the action (their instances stop promptly, in-flight
	// activations finishing first) and may prepare a (Knative creates or
	// updates its Service). Deploy never waits for a to become ready: it
	// runs inside the write request. Deploying a version the platform
	// cannot run (a sequence, a kind without a runtime) does nothing.
	//
	// Deploy and Remove report no error: the store is the truth, and the
	// write they follow stands. A platform reports its own failures (in
	// its log) and repairs them when it starts (Knative's Reconcile).
	Deploy(ctx context.Context, a *Action)
	// Remove tells the platform the action at ref.Path is deleted: every
	// version is retired, idle instances stop at once and busy ones as
	// soon as their activations end. It returns when those activations
	// have ended or ctx ends, whichever comes first; an ended ctx cuts
	// only the wait, never the removal.
	Remove(ctx context.Context, ref ActionRef)
	// Runtimes lists the kinds this platform can run.
	Runtimes() []Runtime
}

// Runtime is one kind a platform offers, as GET / advertises it.
type Runtime struct {
	Family      string `json:"-"`
	Kind        string `json:"kind"`
	Image       string `json:"image"`
	Default     bool   `json:"default"`
	Deprecated  bool   `json:"deprecated"`
	Attached    bool   `json:"attached"`
	RequireMain bool   `json:"requireMain"`
	// CodeOnly marks a blackbox kind that runs only code (native zips
	// and scripts, by the docker-skeleton convention), not docker images:
	// the platform cannot pull and run them. Local mode sets it.
	CodeOnly bool `json:"-"`
}

// RefOf names the stored action version a, deleted.
func RefOf(a *whisk.Action) ActionRef {
	return ActionRef{Path: a.Path(), Updated: a.Updated}
}

// ActionOf is the platform's view of a stored action version. Its Key
// changes with every write of the action, so an update (even one keeping
// the version) never reuses an instance of the old code.
func ActionOf(a *whisk.Action) *Action {
	p := &Action{
		Key:     a.Path().String() + "@" + a.Version.String() + "#" + strconv.FormatInt(a.Updated, 10),
		Path:    a.Path(),
		Version: a.Version.String(),
		Kind:    a.Exec.Kind,
		Code:    a.Exec.CodeString(),
		Binary:  a.Exec.Binary,
		Main:    a.Exec.Main,
		Image:   a.Exec.Image,
		Limits:  a.Limits,
		// The action's annotations, shared: a platform only reads them.
		Annotations: a.Annotations,
		Updated:     a.Updated,
	}
	for _, kv := range a.Parameters {
		if kv.Init {
			if p.Env == nil {
				p.Env = map[string]string{}
			}
			p.Env[kv.Key] = whisk.EnvString(kv.Value)
		}
	}
	return p
}
