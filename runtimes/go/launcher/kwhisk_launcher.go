//go:build ignore

// kwhisk's ActionLoop launcher for Go (the protocol is documented in
// pkg/actionloop/doc.go). It is compiled together with an action's package
// main; kwhisk_entry.go, written beside it, binds kwhiskEntry to the entry
// point. Every name here starts with kwhisk to stay out of the action's way.
//
// The entry point is a function of one of these shapes, T and R being any
// types encoding/json can decode and encode:
//
//	func(T) R    func(T) (R, error)    func(context.Context, T) (R, error)
//
// and the same without T, without R, or without the error. A non-nil error
// becomes the application error {"error": err.Error()}; a panic is a
// developer error. The context ends at the activation's deadline.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	kwhiskContextType = reflect.TypeFor[context.Context]()
	kwhiskErrorType   = reflect.TypeFor[error]()
)

func main() {
	out := os.NewFile(3, "result")
	name := os.Getenv("__OW_MAIN")
	if name == "" {
		name = "main"
	}
	_ = os.Unsetenv("__OW_MAIN") // launcher-only variables
	_ = os.Unsetenv("__OW_CODE")
	fn, withCtx, err := kwhiskCheck(kwhiskEntry)
	if err != nil {
		kwhiskWrite(out, kwhiskJSON(map[string]any{"error": "Action entrypoint '" + name + "' " + err.Error()}))
		os.Exit(1)
	}
	kwhiskWrite(out, []byte(`{"ok":true}`))
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	var keys []string
	for {
		line, err := in.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			return // stdin closed: the instance is being stopped
		}
		// os.Stdout and os.Stderr are not buffered: what the action wrote
		// is in the pipes before its result.
		kwhiskWrite(out, kwhiskRun(fn, withCtx, line, &keys))
	}
}

// kwhiskCheck makes sure f is a function the launcher can call.
func kwhiskCheck(f any) (reflect.Value, bool, error) {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Func || v.IsNil() {
		return v, false, errors.New("is not a function.")
	}
	t := v.Type()
	withCtx := t.NumIn() > 0 && t.In(0) == kwhiskContextType
	args := t.NumIn()
	if withCtx {
		args--
	}
	outs := t.NumOut()
	ok := !t.IsVariadic() && args <= 1 && outs <= 2 && (outs < 2 || t.Out(1) == kwhiskErrorType)
	if !ok {
		return v, false, fmt.Errorf("has the unsupported signature %s: use func(T) R, optionally with a context.Context first and an error last.", t)
	}
	return v, withCtx, nil
}

// kwhiskRun runs one request line and returns the result line.
func kwhiskRun(fn reflect.Value, withCtx bool, line []byte, keys *[]string) (res []byte) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(line, &req); err != nil {
		return kwhiskDeveloperError("The action input is not valid JSON: " + err.Error())
	}
	set := make([]string, 0, len(req))
	for k, v := range req {
		if k == "value" {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		ek := "__OW_" + strings.ToUpper(k)
		_ = os.Setenv(ek, s) // fails only for names with '=' or NUL
		set = append(set, ek)
	}
	for _, k := range *keys {
		if !slices.Contains(set, k) {
			_ = os.Unsetenv(k) // cannot fail for a name that was set
		}
	}
	*keys = set

	ctx := context.Background()
	if ms, err := strconv.ParseInt(os.Getenv("__OW_DEADLINE"), 10, 64); err == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.UnixMilli(ms))
		defer cancel()
	}
	t := fn.Type()
	var args []reflect.Value
	if withCtx {
		args = append(args, reflect.ValueOf(&ctx).Elem())
	}
	if t.NumIn() > len(args) {
		value := req["value"]
		if len(value) == 0 {
			value = json.RawMessage("{}")
		}
		p := reflect.New(t.In(len(args)))
		if err := json.Unmarshal(value, p.Interface()); err != nil {
			return kwhiskDeveloperError("The action input does not fit the entry point's parameter: " + err.Error())
		}
		args = append(args, p.Elem())
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic: %v\n\n%s", r, debug.Stack())
			res = kwhiskDeveloperError(fmt.Sprintf("An error has occurred: %v", r))
		}
	}()
	outs := fn.Call(args)
	if n := len(outs); n > 0 && t.Out(n-1) == kwhiskErrorType {
		if e := outs[n-1]; !e.IsNil() {
			return kwhiskJSON(map[string]any{"error": e.Interface().(error).Error()})
		}
		outs = outs[:n-1]
	}
	if len(outs) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(outs[0].Interface())
	switch {
	case err != nil:
		return kwhiskDeveloperError("An error has occurred: " + err.Error())
	case string(b) == "null":
		return []byte("{}")
	}
	return b
}

func kwhiskDeveloperError(msg string) []byte {
	return kwhiskJSON(map[string]any{"error": msg, "__ow_developer_error": true})
}

func kwhiskJSON(v map[string]any) []byte {
	b, _ := json.Marshal(v) // strings and booleans always marshal
	return b
}

func kwhiskWrite(out *os.File, line []byte) {
	if _, err := out.Write(append(line, '\n')); err != nil {
		os.Exit(1) // the gateway is gone
	}
}
