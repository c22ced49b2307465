// Package imageserver is the HTTP server inside a runtime image: it serves
// one action over HTTP as docs/runtime-protocol.md describes, running it
// in pkg/actionloop instances. Each runtime image's main (runtimes/<family>)
// is Main with its family's launcher.
//
// In Knative mode (wire.EnvAction set) the action is the one the revision
// was made for, initialised at boot from inline or fetched code checked
// against its digest; each /run answers a wire.RunResponse with the
// activation's logs. With wire.EnvBlackbox as well, the server proxies to
// the action's own image beside it instead of running a launcher.
//
// In Knative mode only the gateway may run the action: at boot, beside
// the init, the server fetches the action's run keys from
// wire.EnvRunKeysURL (with the bearer token of wire.EnvCodeToken), and it
// answers 401, before it decodes the body or touches the action, every
// /run that no key signs (pkg/runtime/runauth), that has expired or whose
// activation it has run before. A signature that matches no key fetches
// the keys again (at most every second), so a pod picks up a rotated key, and
// keys older than a minute are fetched again in the background, so a key
// the gateway dropped stops opening the action. Without
// wire.EnvRunKeysURL, New refuses Knative mode.
//
// In classic mode the server speaks OpenWhisk's container protocol: /init
// once, then /run answering the bare result, the logs on the container's
// streams.
//
// The server keeps one launcher instance, shared by the runs in flight and
// replaced once it turns unusable, as OpenWhisk replaces containers.
//
// It imports only the standard library, pkg/whisk, pkg/actionloop,
// pkg/runtime/wire and pkg/runtime/runauth, so a runtime image stays
// small.
package imageserver
