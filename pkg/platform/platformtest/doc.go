// Package platformtest is the conformance suite of the platform seam: every
// platform.Platform implementation passes Run. It runs real one-file and
// zipped actions (embedded from actions/) for each kind a platform offers
// and checks results, status codes, OpenWhisk's error messages, log lines,
// cold and warm starts, limits and concurrency.
//
// It may import the standard library, go-cmp, pkg/whisk, pkg/platform and
// runtimes/go/launcher (to prebuild a Go exec),
// and is imported only by tests.
package platformtest
