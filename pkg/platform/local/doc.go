// Package local is the platform of local mode: it runs each action version
// in launcher processes on this host, through pkg/actionloop, and keeps
// them warm in one pool per version, within per-action and host-wide caps,
// until they sit idle too long, the action is removed or a newer version
// replaces them. The kinds it offers are those of the interpreters it finds
// (node → nodejs:<major>, python3 → python:<major.minor>).
//
// It may import the standard library, pkg/whisk, pkg/platform,
// pkg/actionloop and the launcher packages under runtimes/.
package local
