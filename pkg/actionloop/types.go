package actionloop

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Launcher says how to start instances of one runtime kind.
type Launcher struct {
	// Command is the launcher's argv; Command[0] is an executable path,
	// e.g. {"/usr/bin/node", "/data/launchers/launcher.js"}.
	Command []string
	// Source is the file name source text is written as in the code
	// directory, e.g. "index.js".
	Source string
	// Env is the environment every instance starts from (PATH, LANG...).
	// Nothing of the gateway's own environment leaks in otherwise.
	Env []string
	// Prepare, when set, replaces Unpack as the way code reaches the
	// instance: it creates c.Dir, puts c's code in it and returns the argv
	// to start (nil means Command). Compiled kinds build or reuse a binary
	// here. It runs within the init's time limit (ctx ends there); a
	// *CodeError fails the init with its message as a developer error.
	Prepare func(ctx context.Context, c *Config) ([]string, error)
	// Skeleton runs OpenWhisk's docker-skeleton convention instead of a
	// launcher: the code directory must hold an executable "exec", and
	// each activation runs it once with the input as its one argument;
	// the last line of its stdout is the result. Command is not used.
	Skeleton bool
	// Concurrent says the launcher can run several activations at once
	// (Node.js): with Config.Concurrency above 1 it is started with
	// __OW_ALLOW_CONCURRENT=true and speaks the tagged protocol.
	Concurrent bool
}

// Config is one instance: the code it runs and its limits.
type Config struct {
	// Dir is the instance's code and working directory. Start creates it
	// (it must not exist) and Stop removes it.
	Dir    string
	Code   string // source text, or base64 when Binary
	Binary bool
	Main   string            // entry point; "" means "main"
	Env    map[string]string // init parameters, as environment variables
	// APIHost becomes __OW_API_HOST.
	APIHost string
	// Timeout limits init and each run; zero or less means no limit.
	Timeout time.Duration
	// LogLimit is the number of log text bytes kept per activation; zero
	// keeps none and a negative value keeps all.
	LogLimit int64
	// Concurrency is the number of activations the instance may run at
	// once (limits.concurrency). Values above 1 take effect only with a
	// Concurrent launcher; zero means 1.
	Concurrency int
}

// Request is one activation's input and context.
type Request struct {
	Value         json.RawMessage // object or array; nil means {}
	Namespace     string          // the invoking namespace
	ActionName    string          // fully qualified: "/ns/pkg/name"
	ActionVersion string
	ActivationID  whisk.ActivationID
	TransactionID string
	APIKey        string // sent only when not empty
	// TraceParent is the W3C traceparent the activation runs in, sent
	// as trace_parent (so __OW_TRACE_PARENT) only when not empty.
	TraceParent string
	// Deadline is sent as __OW_DEADLINE; zero means run start + timeout.
	// The instance enforces its own Config.Timeout from the run's start.
	Deadline time.Time
}

// Outcome is what one activation (or a failed init) produced.
type Outcome struct {
	Start, End time.Time
	Response   whisk.Response
	Logs       []string
	Timeout    bool // the time limit was hit
}

// Sentinel is the line a launcher writes on stdout and stderr after each
// activation.
const Sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// MaxResultBytes is the largest result an activation may produce.
const MaxResultBytes = 1 << 20

// Errors that are the gateway's, not the action's.
var (
	// ErrStopped is returned by Run when Stop ended the instance under it.
	ErrStopped = errors.New("actionloop: instance stopped")
	// ErrUnusable is returned by Run on an instance that reported itself
	// unusable.
	ErrUnusable = errors.New("actionloop: instance unusable")
)

// Messages OpenWhisk clients see verbatim.
const (
	MsgMissingCode     = "Missing main/no code to execute."
	MsgInitExited      = "The action did not initialize and exited unexpectedly."
	MsgRunExited       = "The action did not produce a valid response and exited unexpectedly."
	MsgInvalidResponse = "The action did not produce a valid JSON or JSON Array response"
	MsgLogsIncomplete  = "The action did not initialize or run as expected. Log data might be missing."
)

// InitTimeoutMessage is the developer error of an init past its limit.
func InitTimeoutMessage(d time.Duration) string {
	return "The action exceeded its time limits of " + strconv.FormatInt(d.Milliseconds(), 10) + " milliseconds during initialization."
}

// RunTimeoutMessage is the developer error of a run past its limit.
func RunTimeoutMessage(d time.Duration) string {
	return "The action exceeded its time limits of " + strconv.FormatInt(d.Milliseconds(), 10) + " milliseconds."
}

// TruncatedResultMessage is the application error of a result over
// MaxResultBytes: n is the result's length, prefix its first bytes.
func TruncatedResultMessage(n int, prefix string) string {
	return "The action produced a response that exceeded the allowed length: " + strconv.Itoa(n) + " > " +
		strconv.Itoa(MaxResultBytes) + " bytes. The truncated response was: " + prefix
}

// LogsTruncatedMessage is the stderr line appended when an activation's logs
// exceed limit bytes.
func LogsTruncatedMessage(limit int64) string {
	return "Logs were truncated because the total bytes size exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes."
}
