// Package launcher ships the Node.js side of the actionloop protocol: the
// launcher script that loads one action's code and serves its activations
// over stdin and fd 3 (see pkg/actionloop). The gateway writes the script to
// disk for local mode; runtime images ship the same bytes.
//
// Family describes the family for the registry (package runtimes).
//
// It imports only the standard library, pkg/actionloop and
// runtimes/family.
package launcher
