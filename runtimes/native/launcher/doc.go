// Package launcher is the native runtime (kind blackbox with code, the
// CLI's --native): it has no launcher process, as actionloop runs such code
// by OpenWhisk's docker-skeleton convention (Launcher.Skeleton), one
// process of the code's exec per activation.
//
// Family describes the family for the registry (package runtimes).
//
// It imports only the standard library, pkg/actionloop and
// runtimes/family.
package launcher
