// Package bench holds kwhisk's benchmarks, run by `make bench`. They are
// benchmarks, not timed tests: each prints its measurements side by side
// and reports the key ones as benchmark metrics; docs/benchmarks.md
// records what they gave on our machines.
package bench
