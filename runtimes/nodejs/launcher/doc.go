// Package launcher ships the Node.js side of the actionloop protocol: the
// launcher script that loads one action's code and serves its activations
// over stdin and fd 3 (see pkg/actionloop). The gateway writes the script to
// disk for local mode; runtime images ship the same bytes. With it go the
// packages every Node.js action can require without shipping them, as
// OpenWhisk's Node.js runtime images bundle them (the openwhisk client;
// see modules.go), put on the instances' NODE_PATH.
//
// Family describes the family for the registry (package runtimes).
//
// It imports only the standard library, pkg/actionloop and
// runtimes/family.
package launcher
