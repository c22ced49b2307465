package actionloop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	golauncher "github.com/kwhisk/kwhisk/runtimes/go/launcher"
	nativelauncher "github.com/kwhisk/kwhisk/runtimes/native/launcher"
)

// A Node.js action: start an instance, run it twice, stop it.
func Example() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	inst, failed, err := actionloop.Start(ctx, launcher("nodejs", work), &actionloop.Config{
		Dir:      filepath.Join(work, "hello"),
		Code:     mustRead("testdata/hello.js"),
		Timeout:  10 * time.Second,
		LogLimit: 1 << 20,
	})
	if err != nil || failed != nil {
		fmt.Println("start:", err, failed)
		return
	}
	defer inst.Stop()
	for _, name := range []string{"Jane", "Zoë"} {
		out, err := inst.Run(ctx, &actionloop.Request{Value: json.RawMessage(`{"name":"` + name + `"}`)})
		if err != nil {
			fmt.Println("run:", err)
			return
		}
		fmt.Println(out.Response.StatusCode, string(out.Response.Result))
		fmt.Println(strings.Join(untimed(out.Logs), "\n"))
	}
	// Output:
	// 0 {"greeting":"Hello, Jane!"}
	// stderr: a line on stderr
	// stdout: hello Jane
	// 0 {"greeting":"Hello, Zoë!"}
	// stderr: a line on stderr
	// stdout: hello Zoë
}

// The same action in Python.
func Example_python() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	inst, failed, err := actionloop.Start(ctx, launcher("python", work), &actionloop.Config{
		Dir:      filepath.Join(work, "hello"),
		Code:     mustRead("testdata/hello.py"),
		Timeout:  10 * time.Second,
		LogLimit: 1 << 20,
	})
	if err != nil || failed != nil {
		fmt.Println("start:", err, failed)
		return
	}
	defer inst.Stop()
	out, err := inst.Run(ctx, &actionloop.Request{Value: json.RawMessage(`{"name":"Jane"}`)})
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	fmt.Println(out.Response.StatusCode, string(out.Response.Result))
	fmt.Println(strings.Join(untimed(out.Logs), "\n"))
	// Output:
	// 0 {"greeting":"Hello, Jane!"}
	// stderr: a line on stderr
	// stdout: hello Jane
}

// Native code by the docker-skeleton convention: no launcher, the script
// runs once per activation.
func Example_native() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	inst, failed, err := actionloop.Start(ctx, nativelauncher.Launcher([]string{"PATH=/usr/bin:/bin"}), &actionloop.Config{
		Dir:      filepath.Join(work, "hello"),
		Code:     mustRead("testdata/hello.sh"),
		Timeout:  10 * time.Second,
		LogLimit: 1 << 20,
	})
	if err != nil || failed != nil {
		fmt.Println("start:", err, failed)
		return
	}
	defer inst.Stop()
	out, err := inst.Run(ctx, &actionloop.Request{Value: json.RawMessage(`{"name":"Jane"}`)})
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	fmt.Println(out.Response.StatusCode, string(out.Response.Result))
	fmt.Println(strings.Join(untimed(out.Logs), "\n"))
	// Output:
	// 0 {"greeting":"Hello, Jane!"}
	// stderr: a line on stderr
	// stdout: hello Jane
}

// A Go action, compiled with the launcher at its first init.
func Example_go() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	goExe, _ := exec.LookPath("go")
	version, _ := exec.Command(goExe, "env", "GOVERSION").Output()
	compiler := golauncher.NewCompiler(golauncher.Options{
		Go: goExe, Version: strings.TrimPrefix(strings.TrimSpace(string(version)), "go"),
		CacheDir: filepath.Join(work, "cache"), Env: os.Environ(),
	})
	inst, failed, err := actionloop.Start(ctx, compiler.Launcher(nil), &actionloop.Config{
		Dir:      filepath.Join(work, "hello"),
		Code:     mustRead("testdata/go/hello.go"),
		Timeout:  time.Minute,
		LogLimit: 1 << 20,
	})
	if err != nil || failed != nil {
		fmt.Println("start:", err, failed)
		return
	}
	defer inst.Stop()
	out, err := inst.Run(ctx, &actionloop.Request{Value: json.RawMessage(`{"name":"Zoë"}`)})
	if err != nil {
		fmt.Println("run:", err)
		return
	}
	fmt.Println(out.Response.StatusCode, string(out.Response.Result))
	fmt.Println(strings.Join(untimed(out.Logs), "\n"))
	// Output:
	// 0 {"greeting":"Hello, Zoë!"}
	// stderr: a line on stderr
	// stdout: hello Zoë
}

// An object with an error field is an application error and keeps only that
// field; a thrown exception is a developer error, after which the instance
// is replaced.
func ExampleInstance_Run_errors() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	inst, _, err := actionloop.Start(ctx, launcher("nodejs", work), &actionloop.Config{
		Dir:      filepath.Join(work, "fail"),
		Code:     mustRead("testdata/fail.js"),
		Timeout:  10 * time.Second,
		LogLimit: 1 << 20,
	})
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer inst.Stop()
	for _, in := range []string{`{"input":42}`, `{"throw":true}`} {
		out, err := inst.Run(ctx, &actionloop.Request{Value: json.RawMessage(in)})
		if err != nil {
			fmt.Println("run:", err)
			return
		}
		fmt.Println(out.Response.StatusCode, string(out.Response.Result), inst.Usable())
	}
	// Output:
	// 1 {"error":"bad input: 42"} true
	// 2 {"error":"An error has occurred: Error: Extraordinary exception"} false
}

// Empty code fails without starting a process.
func ExampleStart_missingCode() {
	work, _ := os.MkdirTemp("", "actionloop")
	defer os.RemoveAll(work)

	_, failed, err := actionloop.Start(context.Background(), launcher("nodejs", work), &actionloop.Config{
		Dir: filepath.Join(work, "empty"),
	})
	fmt.Println(err, failed.Response.StatusCode, string(failed.Response.Result))
	// Output:
	// <nil> 2 {"error":"Missing main/no code to execute."}
}
