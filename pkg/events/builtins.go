package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// KindBuiltin is the exec kind of actions the gateway runs in-process: the
// catalog's feed actions. It is never advertised, so users cannot create
// such actions; Main names the handler.
const KindBuiltin = "kwhisk:builtin"

// Runner runs one activation (the platform).
type Runner interface {
	Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error)
}

// Handler is one built-in action: it gets the invoking namespace and the
// merged parameters and returns the result object, or an error whose
// message becomes an application error.
type Handler func(ctx context.Context, namespace string, params map[string]json.RawMessage) (any, error)

// Builtins decorates a runner: built-in actions run here, everything else
// goes on to the platform.
type Builtins struct {
	next     Runner
	handlers map[string]Handler
}

// NewBuiltins returns the decorator over next.
func NewBuiltins(next Runner, handlers map[string]Handler) *Builtins {
	return &Builtins{next: next, handlers: handlers}
}

// Run runs a built-in action in-process, or hands a to the platform.
func (b *Builtins) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	if a.Kind != KindBuiltin {
		return b.next.Run(ctx, a, req)
	}
	start := time.Now()
	res := &platform.Result{Start: start, Logs: []string{}}
	h, ok := b.handlers[a.Main]
	var out any
	var err error = whisk.Invalid("no built-in action %q", a.Main)
	if ok {
		var params map[string]json.RawMessage
		if jerr := json.Unmarshal(req.Value, &params); jerr != nil {
			params = map[string]json.RawMessage{}
		}
		out, err = h(ctx, req.Namespace, params)
	}
	if err != nil {
		res.Response = whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult(whisk.MessageOf(err))}
	} else {
		body, merr := json.Marshal(out)
		if merr != nil {
			return nil, merr
		}
		res.Response = whisk.Response{Result: body}
	}
	res.End = time.Now()
	return res, nil
}
