// Package actionloop runs OpenWhisk action code in launcher processes: it
// prepares an instance's code, starts the language launcher, waits for it to
// load the code, sends it activations (one at a time, or several with the
// concurrent protocol), maps what comes back to OpenWhisk responses and cuts
// each activation's logs out of the process's stdout and stderr. Local mode
// embeds it in the gateway; the runtime images serve the same instances over
// HTTP (pkg/runtime/imageserver; docs/runtime-protocol.md).
//
// It imports only the standard library and pkg/whisk.
//
// # Protocol
//
// A launcher is one process per action instance, started as Launcher.Command
// in its own process group, with:
//
//   - working directory: the instance's code directory (Config.Dir);
//   - stdin: a pipe carrying one request per line;
//   - fd 3: a pipe carrying one answer per line back to the gateway;
//   - stdout, stderr: pipes whose lines become the activation's logs;
//   - environment: Launcher.Env, then HOME=<code dir>, the action's init
//     parameters (Config.Env; names that cannot be variables are skipped),
//     then __OW_API_HOST, __OW_CODE (the code directory) and __OW_MAIN (the
//     entry point, "main" when unset). Launchers remove __OW_CODE and
//     __OW_MAIN from their environment once they have read them.
//
// Before starting the launcher, Start writes source text to
// <code dir>/<Launcher.Source> (index.js for Node.js, __main__.py for
// Python), or decodes base64 code and unzips it into the code directory;
// binary code that is not a zip is written as the source file. Empty source
// text fails at once with "Missing main/no code to execute.", without a
// process.
//
// Init. The launcher loads the code and writes exactly one line on fd 3:
//
//	{"ok":true}           the code is loaded and the entry point found
//	{"error":"<message>"} loading failed; the launcher then exits
//
// Run. For each activation the gateway writes one line on stdin:
//
//	{"value":<input>,"namespace":"<invoking ns>","action_name":"/ns/pkg/a",
//	 "action_version":"0.0.1","activation_id":"<32 hex>",
//	 "transaction_id":"<tid>","deadline":"<epoch ms>","api_key":"<key>",
//	 "trace_parent":"<W3C traceparent>"}
//
// (api_key only when the action may see it, trace_parent only when the
// activation is traced). The launcher sets the
// environment variable __OW_<KEY UPPERCASED> for every key but value,
// removes those a previous request set and this one lacks, calls the entry
// point with value, awaits a returned promise or coroutine, and writes the
// result as one JSON line on fd 3 once everything the activation wrote on
// stdout and stderr is in their pipes (unbuffered streams; Node.js waits
// for writes it queued on a full pipe). No end-of-activation sentinel
// follows the output: the result itself marks the end (see Logs). A
// failure the launcher itself detects (a thrown
// exception, an unserializable result, an invalid request) is written as
// {"error":"<message>","__ow_developer_error":true}; the reserved key makes
// it a developer error and never reaches the activation record.
//
// The gateway maps the fd-3 line as OpenWhisk's invoker maps a /run response:
// an object without "error" is a success, an object with a top-level "error"
// an application error whose result keeps only that field, an array a
// success, anything else a developer error; a line over 1 MB an application
// error carrying the truncated text; end of file a developer error. Past its
// time limit an instance's process group is killed.
//
// # Logs
//
// One goroutine per stream stamps each line with the time it was read and
// stores it as "<RFC 3339 UTC time, 9 fractional digits> <stream>: <text>".
// It holds a lock from the moment a read takes bytes out of the pipe until
// they are cut into lines. On the result, the run takes that lock and reads
// whatever the pipe still holds without waiting (pipeReader.settle): every
// byte written before the result is then a line of the activation, a last
// one without its newline included, with no wait and no sentinel round trip
// per activation. Output written after the result (by code left running)
// belongs to the next activation, as it did with sentinels. A line that is
// exactly a sentinel, or ends with one, has it cut out (launchers older
// than this protocol wrote them). Text beyond the log limit is dropped and a
// truncation notice appended; after a developer error a warning line is
// appended. Both follow OpenWhisk's wording.
//
// An instance runs one activation at a time. After a developer error or a
// timeout it reports itself unusable, and its owner stops it and starts
// another, as OpenWhisk replaces such containers.
//
// # Kinds without a script
//
// A Launcher's Prepare hook replaces Unpack: the go kind compiles the code
// with its launcher (runtimes/go/launcher) or takes a zip's prebuilt exec,
// caches the binary by code digest and starts it as the launcher. A
// Skeleton launcher (native code, runtimes/native/launcher) has no process
// at all: the code must hold an executable "exec", which each activation
// runs once by OpenWhisk's docker-skeleton convention (the input as the one
// argument, the last line of stdout as the result, the rest as logs); such
// an instance is otherwise used like any other.
//
// # Concurrency
//
// With Config.Concurrency above 1 and a Concurrent launcher (Node.js), the
// launcher gets __OW_ALLOW_CONCURRENT=true and every line is tagged with a
// number the gateway picks per activation: "<n> <request>" on stdin,
// "<n> <result>" on fd 3, and \x1f<n>\x1f before each line of output
// (sentinels included), so each activation's logs are its own. Run may then
// be called Capacity times at once. A run past its time limit kills the
// launcher; the other runs in flight fail as if it had exited. An instance
// that turned unusable finishes its runs in flight; its owner stops it
// when they have returned.
package actionloop
