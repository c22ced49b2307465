// Package launcher ships the Node.js side of the actionloop protocol: the
// launcher script that loads one action's code and serves its activations
// over stdin and fd 3 (see pkg/actionloop). The gateway writes the script to
// disk for local mode; runtime images ship the same bytes.
//
// It imports only the standard library and pkg/actionloop.
package launcher
