package launcher

import _ "embed"

// Script is launcher.py.
//
//go:embed launcher.py
var Script []byte

// ScriptName is the file name Script is written as.
const ScriptName = "launcher.py"

// CodeFile is the file name an action's source text is written as; a zip
// action must ship it at its root.
const CodeFile = "__main__.py"

// Command returns the argv that starts the launcher at script with the
// python3 executable at python. The flags keep start-up fast and output
// predictable: -s skips the user site directory, -E ignores PYTHON*
// variables, -u makes stdout and stderr unbuffered so every line is in the
// pipes before the result, -B writes no .pyc files into the code
// directory and -X utf8 makes UTF-8 the encoding everywhere. The global
// site-packages stay available.
func Command(python, script string) []string {
	return []string{python, "-s", "-E", "-u", "-B", "-X", "utf8", script}
}
