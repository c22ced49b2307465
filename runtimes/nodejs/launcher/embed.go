package launcher

import _ "embed"

// Script is launcher.js.
//
//go:embed launcher.js
var Script []byte

// ScriptName is the file name Script is written as.
const ScriptName = "launcher.js"

// CodeFile is the file name an action's source text is written as; a zip
// action names its entry file in package.json "main" or ships index.js.
const CodeFile = "index.js"

// Command returns the argv that starts the launcher at script with the node
// executable at node.
func Command(node, script string) []string { return []string{node, script} }
