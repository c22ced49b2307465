// Package launcher ships the Go side of the actionloop protocol: the
// launcher source compiled together with each action's package main
// (kwhisk_launcher.go, excluded from this package's own build), and the
// Compiler that builds actions with a local toolchain, or takes the
// prebuilt exec of a zip, and caches the result by code digest. The local
// platform and the go runtime image use the same Compiler.
//
// Family describes the family for the registry (package runtimes).
//
// It imports only the standard library, pkg/actionloop and
// runtimes/family.
package launcher
