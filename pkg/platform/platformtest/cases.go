package platformtest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
	golauncher "github.com/kwhisk/kwhisk/runtimes/go/launcher"
)

// Messages the suite expects verbatim (OpenWhisk's).
const (
	msgInitExited     = "The action did not initialize and exited unexpectedly."
	msgRunExited      = "The action did not produce a valid response and exited unexpectedly."
	msgMissingCode    = "Missing main/no code to execute."
	msgLogsIncomplete = "stderr: The action did not initialize or run as expected. Log data might be missing."
)

type testCase struct {
	name   string
	only   string   // a family, or "" for all
	except []string // families the case does not apply to
	run    func(t *testing.T, s *suite)
}

// noInit are the families whose code runs no init of its own: native code
// is a program started per activation.
var noInit = []string{"blackbox"}

var cases = []testCase{
	{name: "HelloWithParamsAndLogs", run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "hello"), `{"name":"Jane"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"greeting":"Hello, Jane!"}`)
		lines := logText(t, res)
		for _, want := range []string{"stdout: hello Jane", "stderr: a line on stderr"} {
			if !contains(lines, want) {
				t.Errorf("logs %q lack %q", lines, want)
			}
		}
		if !res.Cold || res.InitTime <= 0 {
			t.Errorf("first run: Cold %v, InitTime %v; want a cold start", res.Cold, res.InitTime)
		}
	}},
	{name: "WarmReuse", run: func(t *testing.T, s *suite) {
		a := s.action(t, "hello")
		first := s.run(t, a, `{"name":"one"}`)
		second := s.run(t, a, `{"name":"two"}`)
		wantResponse(t, second, whisk.StatusSuccess, `{"greeting":"Hello, two!"}`)
		if !first.Cold || second.Cold || second.InitTime != 0 {
			t.Errorf("Cold = %v then %v, second InitTime %v; want cold then warm with no init", first.Cold, second.Cold, second.InitTime)
		}
		if second.Start.Before(first.End) {
			t.Errorf("warm Start %v is before the first run's End %v", second.Start, first.End)
		}
		if lines := logText(t, second); contains(lines, "stdout: hello one") || !contains(lines, "stdout: hello two") {
			t.Errorf("second run's logs %q; want only its own lines", lines)
		}
	}},
	{name: "NewVersionIsCold", run: func(t *testing.T, s *suite) {
		a := s.action(t, "hello")
		s.run(t, a, `{"name":"v1"}`)
		b := *a
		b.Key += "/v2"
		b.Version = "0.0.2"
		if res := s.run(t, &b, `{"name":"v2"}`); !res.Cold {
			t.Error("a new key ran warm, want a new instance")
		}
	}},
	{name: "ApplicationError", run: func(t *testing.T, s *suite) {
		a := s.action(t, "apperror")
		for _, v := range []string{`"bad"`, `42`, `false`, `{"msg":"nested"}`} {
			res := s.run(t, a, `{"error":`+v+`}`)
			wantResponse(t, res, whisk.StatusApplicationError, `{"error":`+v+`}`)
		}
	}},
	{name: "ThrownException", except: noInit, run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "throw"), `{}`)
		// OpenWhisk's Node.js runtime concatenates what was thrown, so an
		// Error shows its name: "An error has occurred: Error: ...".
		thrown := map[string]string{"nodejs": "Error: "}[s.family] + "Extraordinary exception"
		wantResponse(t, res, whisk.StatusDeveloperError, `{"error":"An error has occurred: `+thrown+`"}`)
		if lines := logText(t, res); !contains(lines, "stdout: about to throw") {
			t.Errorf("logs %q lack the line before the exception", lines)
		}
		if got := lastLine(t, res); got != msgLogsIncomplete {
			t.Errorf("last log line %q, want %q", got, msgLogsIncomplete)
		}
	}},
	{name: "EmptyCode", except: []string{"blackbox"}, run: func(t *testing.T, s *suite) { // blackbox: SkeletonStub
		a := s.action(t, "echo")
		a.Code = ""
		res := s.run(t, a, `{}`)
		wantResponse(t, res, whisk.StatusDeveloperError, `{"error":"`+msgMissingCode+`"}`)
	}},
	{name: "InitError", except: noInit, run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "initerror"), `{}`)
		if res.Response.StatusCode != whisk.StatusDeveloperError {
			t.Fatalf("statusCode = %d, want 2 (result %s)", res.Response.StatusCode, res.Response.Result)
		}
		want := map[string]string{"nodejs": "ReferenceError", "python": "NameError", "go": "undefined: notDefinedAnywhere"}[s.family]
		if msg := errorText(t, res); !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}},
	{name: "ExitDuringInit", except: noInit, run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "exitinit"), `{}`)
		wantResponse(t, res, whisk.StatusDeveloperError, `{"error":"`+msgInitExited+`"}`)
		if !res.Cold {
			t.Error("a failed init is not a cold start")
		}
		if lines := logText(t, res); !contains(lines, "stdout: exiting during init") || lastLine(t, res) != msgLogsIncomplete {
			t.Errorf("logs %q; want the init output and then %q", lines, msgLogsIncomplete)
		}
	}},
	{name: "ExitDuringRun", run: func(t *testing.T, s *suite) {
		a := s.action(t, "exitrun")
		res := s.run(t, a, `{"exit":true}`)
		wantResponse(t, res, whisk.StatusDeveloperError, `{"error":"`+msgRunExited+`"}`)
		next := s.run(t, a, `{}`)
		wantResponse(t, next, whisk.StatusSuccess, `{"alive":true}`)
		if !next.Cold {
			t.Error("the run after an exit reused the dead instance")
		}
	}},
	{name: "InitTimeout", except: noInit, run: func(t *testing.T, s *suite) {
		a := s.action(t, "hanginit")
		a.Limits.Timeout = 500
		res := s.run(t, a, `{}`)
		wantResponse(t, res, whisk.StatusDeveloperError,
			`{"error":"The action exceeded its time limits of 500 milliseconds during initialization."}`)
		if !res.Timeout || !res.Cold {
			t.Errorf("Timeout %v, Cold %v; want both", res.Timeout, res.Cold)
		}
	}},
	{name: "RunTimeout", run: func(t *testing.T, s *suite) {
		// The limit bounds init too: it leaves init a wide margin on this
		// machine, and a first quick run does the init, so the hanging run
		// is timed on a warm instance and measures the run alone.
		limit := s.runLimit(t, "hang", `{}`)
		a := s.action(t, "hang")
		a.Limits.Timeout = limit
		warm := s.run(t, a, `{}`)
		wantResponse(t, warm, whisk.StatusSuccess, `{"hung":false}`)
		res := s.run(t, a, `{"hang":true}`)
		wantResponse(t, res, whisk.StatusDeveloperError,
			`{"error":"The action exceeded its time limits of `+strconv.Itoa(limit)+` milliseconds."}`)
		if !res.Timeout || res.Cold {
			t.Errorf("Timeout %v, Cold %v; want a timeout on the warm instance", res.Timeout, res.Cold)
		}
		if got := lastLine(t, res); got != msgLogsIncomplete {
			t.Errorf("last log line %q, want %q", got, msgLogsIncomplete)
		}
		next := s.run(t, a, `{}`)
		wantResponse(t, next, whisk.StatusSuccess, `{"hung":false}`)
		if !next.Cold || next.Timeout {
			t.Errorf("run after a timeout: Cold %v, Timeout %v; want a fresh instance", next.Cold, next.Timeout)
		}
	}},
	{name: "EntryPoint", except: noInit, run: func(t *testing.T, s *suite) {
		a := s.action(t, "niam")
		a.Main = "niam"
		wantResponse(t, s.run(t, a, `{"n":7}`), whisk.StatusSuccess, `{"entry":"niam","n":7}`)
	}},
	{name: "ArrayResult", run: func(t *testing.T, s *suite) {
		wantResponse(t, s.run(t, s.action(t, "array"), `{}`), whisk.StatusSuccess, `[1,"two",{"three":3}]`)
	}},
	{name: "ScalarResult", run: func(t *testing.T, s *suite) {
		wantResponse(t, s.run(t, s.action(t, "scalar"), `{}`), whisk.StatusDeveloperError,
			`{"error":"The action did not produce a valid JSON or JSON Array response: \"a string\""}`)
	}},
	{name: "ArrayInput", run: func(t *testing.T, s *suite) {
		wantResponse(t, s.run(t, s.action(t, "echo"), `[1,{"two":2}]`), whisk.StatusSuccess, `[1,{"two":2}]`)
	}},
	{name: "Unicode", run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "unicode"), `{"delimiter":"❄"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"winter":"❄ ✓ 😀 привет ❄"}`)
		if lines := logText(t, res); !contains(lines, "stdout: ❄ ✓ 😀 привет ❄") {
			t.Errorf("logs %q lack the unicode line", lines)
		}
	}},
	{name: "InitEnv", run: func(t *testing.T, s *suite) {
		a := s.action(t, "env")
		a.Env = map[string]string{"SECRET": "s3cr3t ✓", "JSONISH": `{"a":[1,2]}`}
		env := envOf(t, s.run(t, a, `{}`))
		for k, v := range a.Env {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
	}},
	{name: "Context", run: func(t *testing.T, s *suite) {
		a := s.action(t, "env")
		a.Path = whisk.EntityPath{Namespace: "owner", Package: "pkg", Name: a.Path.Name}
		a.Version = "0.0.7"
		req := request(a, `{}`)
		req.Namespace, req.TransactionID, req.APIKey = "invoker", "tid-context", "uuid:key"
		before := time.Now()
		env := envOf(t, s.runRequest(t, a, req))
		want := map[string]string{
			"__OW_NAMESPACE":      "invoker",
			"__OW_ACTION_NAME":    "/owner/pkg/" + a.Path.Name,
			"__OW_ACTION_VERSION": "0.0.7",
			"__OW_ACTIVATION_ID":  string(req.ActivationID),
			"__OW_TRANSACTION_ID": "tid-context",
			"__OW_API_KEY":        "uuid:key",
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
		if _, ok := env["__OW_API_HOST"]; !ok {
			t.Error("__OW_API_HOST is not set")
		}
		if ms, err := strconv.ParseInt(env["__OW_DEADLINE"], 10, 64); err != nil || ms < before.UnixMilli() {
			t.Errorf("__OW_DEADLINE = %q, want epoch ms not before the invoke (%d)", env["__OW_DEADLINE"], before.UnixMilli())
		}

		req = request(a, `{}`)
		env = envOf(t, s.runRequest(t, a, req))
		if k, ok := env["__OW_API_KEY"]; ok {
			t.Errorf("__OW_API_KEY = %q in a run without a key", k)
		}
		if env["__OW_ACTIVATION_ID"] != string(req.ActivationID) {
			t.Errorf("__OW_ACTIVATION_ID = %q on the warm run, want %q", env["__OW_ACTIVATION_ID"], req.ActivationID)
		}
	}},
	{name: "LargePayload", run: func(t *testing.T, s *suite) {
		in := `{"s":"` + strings.Repeat("x", 1000000) + `","u":"✓"}`
		wantResponse(t, s.run(t, s.action(t, "echo"), in), whisk.StatusSuccess, in)
	}},
	{name: "ResultTooLarge", run: func(t *testing.T, s *suite) {
		const size = 1100000
		res := s.run(t, s.action(t, "big"), `{"size":`+strconv.Itoa(size)+`}`)
		if res.Response.StatusCode != whisk.StatusApplicationError {
			t.Fatalf("statusCode = %d, want 1", res.Response.StatusCode)
		}
		msg := errorText(t, res)
		want := "The action produced a response that exceeded the allowed length: " + strconv.Itoa(size+8) +
			" > 1048576 bytes. The truncated response was: " + `{"s":"xxxxxxxx`
		if !strings.HasPrefix(msg, want) {
			t.Errorf("error starts %.200q, want %q", msg, want)
		}
	}},
	{name: "LogTruncation", run: func(t *testing.T, s *suite) {
		a := s.action(t, "logs")
		a.Limits.Logs = 1
		res := s.run(t, a, `{"lines":1100,"size":1000}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"lines":1100}`)
		lines := logText(t, res)
		want := "stderr: Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes."
		if len(lines) == 0 || lines[len(lines)-1] != want {
			t.Fatalf("last of %d log lines is not %q", len(lines), want)
		}
		if n := len(lines) - 1; n < 1000 || n > 1048 {
			t.Errorf("kept %d lines of 1000 bytes under a 1 MB limit, want 1000..1048", n)
		}
	}},
	{name: "ConcurrentRuns", run: func(t *testing.T, s *suite) {
		a := s.action(t, "hello")
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				name := "caller" + strconv.Itoa(i)
				res, err := s.p.Run(context.Background(), a, request(a, `{"name":"`+name+`"}`))
				if err != nil {
					t.Errorf("run %d: %v", i, err)
					return
				}
				wantResponse(t, res, whisk.StatusSuccess, `{"greeting":"Hello, `+name+`!"}`)
				if lines := logText(t, res); !contains(lines, "stdout: hello "+name) || len(lines) != 2 {
					t.Errorf("run %d: logs %q, want its own two lines", i, lines)
				}
			})
		}
		wg.Wait()
	}},
	{name: "Zipped", run: func(t *testing.T, s *suite) {
		res := s.run(t, s.zipAction(t, "zipped"), `{"name":"Jane"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"zipped":"Hello from a zip, Jane!"}`)
	}},
	{name: "Promise", only: "nodejs", run: func(t *testing.T, s *suite) {
		a := s.action(t, "async")
		res := s.run(t, a, `{}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"done":true}`)
		if len(res.Logs) != 0 {
			t.Errorf("logs %q, want none", res.Logs)
		}
		wantResponse(t, s.run(t, a, `{"reject":true}`), whisk.StatusApplicationError,
			`{"error":{"msg":"failed activation on purpose"}}`)
	}},
	{name: "AsyncFunction", only: "nodejs", run: func(t *testing.T, s *suite) {
		wantResponse(t, s.run(t, s.action(t, "asyncfn"), `{"n":3}`), whisk.StatusSuccess, `{"awaited":3}`)
	}},
	{name: "ModuleExports", only: "nodejs", run: func(t *testing.T, s *suite) {
		wantResponse(t, s.run(t, s.action(t, "exported"), `{"n":21}`), whisk.StatusSuccess, `{"doubled":42}`)
	}},
	{name: "MissingEntryPoint", except: noInit, run: func(t *testing.T, s *suite) {
		a := s.action(t, "niam")
		a.Main = "nowhere"
		res := s.run(t, a, `{}`)
		if res.Response.StatusCode != whisk.StatusDeveloperError {
			t.Fatalf("statusCode = %d, want 2 (result %s)", res.Response.StatusCode, res.Response.Result)
		}
		if msg, want := errorText(t, res), "nowhere"; !strings.Contains(strings.ToLower(msg), want) {
			t.Errorf("error %q does not name the entry point %q", msg, want)
		}
	}},
	{name: "Signatures", only: "go", run: func(t *testing.T, s *suite) {
		a := s.action(t, "signatures")
		wantResponse(t, s.run(t, a, `{"name":"Jane"}`), whisk.StatusSuccess, `{"greeting":"Hi Jane","hasDeadline":true}`)
		wantResponse(t, s.run(t, a, `{"fail":true}`), whisk.StatusApplicationError, `{"error":"failed on purpose"}`)
		wantResponse(t, s.run(t, a, `{"name":7}`), whisk.StatusDeveloperError,
			`{"error":"The action input does not fit the entry point's parameter: json: cannot unmarshal number into Go struct field input.name of type string"}`)
	}},
	{name: "PrebuiltExec", only: "go", run: func(t *testing.T, s *suite) {
		files := prebuilt(t, map[string]string{"main.go": prebuiltSource})
		files["greeting.txt"] = []byte("Hello from a prebuilt exec,")
		res := s.run(t, s.zipFiles(t, files), `{"name":"Jane"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"prebuilt":"Hello from a prebuilt exec, Jane"}`)
	}},
	{name: "MissingExec", only: "blackbox", run: func(t *testing.T, s *suite) {
		res := s.run(t, s.zipFiles(t, map[string][]byte{"run.sh": []byte("#!/bin/sh\necho '{}'\n")}), `{}`)
		wantResponse(t, res, whisk.StatusDeveloperError, `{"error":"The action's code has no executable named 'exec' at its root."}`)
		if !res.Cold {
			t.Error("a failed init is not a cold start")
		}
	}},
	{name: "NotAProgram", only: "blackbox", run: func(t *testing.T, s *suite) {
		a := s.action(t, "echo")
		a.Code = "echo '{}'\n"
		wantResponse(t, s.run(t, a, `{}`), whisk.StatusDeveloperError,
			`{"error":"The action's 'exec' is neither a script starting with #! nor an executable binary."}`)
	}},
	{name: "MissingInterpreter", only: "blackbox", run: func(t *testing.T, s *suite) {
		a := s.action(t, "echo")
		a.Code = "#!/nonexistent/interpreter\n"
		res := s.run(t, a, `{}`)
		if msg := errorText(t, res); res.Response.StatusCode != whisk.StatusDeveloperError ||
			!strings.HasPrefix(msg, "The action's 'exec' could not be started: ") {
			t.Errorf("statusCode %d, error %q; want a developer error about starting exec", res.Response.StatusCode, msg)
		}
		if got := lastLine(t, res); got != msgLogsIncomplete {
			t.Errorf("last log line %q, want %q", got, msgLogsIncomplete)
		}
	}},
	{name: "SkeletonStub", only: "blackbox", run: func(t *testing.T, s *suite) {
		// OpenWhisk's docker skeleton with no code runs its image's
		// default exec, a stub (`wsk action create a --docker
		// openwhisk/dockerskeleton`).
		a := s.action(t, "echo")
		a.Code, a.Image = "", "openwhisk/dockerskeleton"
		wantResponse(t, s.run(t, a, `{}`), whisk.StatusApplicationError, `{"error":"This is a stub action. Replace it with custom logic."}`)
	}},
	{name: "ExitStatusIgnored", only: "blackbox", run: func(t *testing.T, s *suite) {
		res := s.run(t, s.action(t, "exitcode"), `{}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"exited":1}`)
		if diff := cmp.Diff([]string{"stdout: a log line"}, logText(t, res)); diff != "" {
			t.Errorf("logs (-want +got):\n%s", diff)
		}
	}},
}

// prebuiltSource reads a file shipped beside the exec.
const prebuiltSource = `package main

import (
	"os"
	"strings"
)

func Main(params map[string]string) (map[string]string, error) {
	b, err := os.ReadFile("greeting.txt")
	return map[string]string{"prebuilt": strings.TrimSpace(string(b)) + " " + params["name"]}, err
}
`

// prebuilt compiles Go sources with the launcher, as a developer would
// for a zip with an exec, and returns the exec as the zip's one file.
func prebuilt(t *testing.T, sources map[string]string) map[string][]byte {
	t.Helper()
	goExe, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain to prebuild an exec with")
	}
	out, err := exec.Command(goExe, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatalf("go env GOVERSION: %v", err)
	}
	dir := t.TempDir()
	for name, src := range sources {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := golauncher.Options{Go: goExe, Version: strings.TrimPrefix(strings.TrimSpace(string(out)), "go"), Env: os.Environ()}
	if err := golauncher.Compile(context.Background(), o, dir, "main"); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "exec"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"exec": b}
}

// envOf decodes an env action's result.
func envOf(t *testing.T, res *platform.Result) map[string]string {
	t.Helper()
	if res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("statusCode = %d, result %s", res.Response.StatusCode, res.Response.Result)
	}
	var env map[string]string
	if err := json.Unmarshal(res.Response.Result, &env); err != nil {
		t.Fatalf("result %s: %v", res.Response.Result, err)
	}
	return env
}

// errorText returns the string under the result's "error".
func errorText(t *testing.T, res *platform.Result) string {
	t.Helper()
	var r struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(res.Response.Result, &r); err != nil {
		t.Fatalf("result %.200s has no error string: %v", res.Response.Result, err)
	}
	return r.Error
}
