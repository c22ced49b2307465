// Package imageserver is the HTTP server inside a runtime image: it serves
// one action over HTTP as docs/runtime-protocol.md describes, running it
// in pkg/actionloop instances. Each runtime image's main (runtimes/<family>)
// is Main with its family's launcher.
//
// In Knative mode (wire.EnvAction set) the action is the one the revision
// was made for, initialised at boot from inline or fetched code checked
// against its digest; each /run answers a wire.RunResponse with the
// activation's logs. With wire.EnvBlackbox as well, the server proxies to
// the action's own image beside it instead of running a launcher. In
// classic mode it speaks OpenWhisk's container protocol: /init once, then
// /run answering the bare result, the logs on the container's streams.
//
// The server keeps one launcher instance, shared by the runs in flight and
// replaced once it turns unusable, as OpenWhisk replaces containers.
//
// It imports only the standard library, pkg/whisk, pkg/actionloop and
// pkg/runtime/wire, so a runtime image stays small.
package imageserver
