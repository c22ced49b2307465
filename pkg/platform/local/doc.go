// Package local is the platform of local mode: it runs each action version
// in launcher processes on this host, through pkg/actionloop, and keeps
// them warm in one pool per version, within per-action and host-wide caps,
// until they sit idle too long, the action is removed or a newer version
// replaces them. The kinds it offers are those of the interpreters it finds
// (node → nodejs:<major>, python3 → python:<major.minor>), probed and
// launched as the families of the runtime registry (package runtimes)
// describe them.
//
// The supervisor scales like Knative's activator (pool.go): activations
// that find no free slot (limits.concurrency per instance) wait in a
// bounded FIFO queue per version, instances are started while the queue
// outgrows what is starting, a few at a time, and the first slot to free
// up serves the head of the queue. Stem cells (stem.go) are launchers
// started without code, so a cold start only loads it. A crashed
// instance fails its activation at once and is replaced, never retried.
// Memory limits (memory.go) use cgroup v2 where the host delegates it,
// else rlimits. docs/local-mode.md has the whole picture.
//
// It may import the standard library, pkg/whisk, pkg/platform,
// pkg/actionloop and the runtime registry (runtimes, runtimes/family and
// the family packages under runtimes/).
package local
