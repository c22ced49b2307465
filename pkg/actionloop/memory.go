package actionloop

import (
	"strings"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// MsgMemoryExhausted is the developer error of an activation that ran out
// of memory, as OpenWhisk words it.
const MsgMemoryExhausted = "The action exhausted its memory and was aborted."

// OutOfMemory reports whether a developer error came from the runtime
// giving up on its memory, by the line it writes to stderr as it does:
// V8's fatal heap error, or Python's MemoryError. Both local mode and a
// runtime image ask, so an action over its limit gets OpenWhisk's message
// on either platform.
func OutOfMemory(resp whisk.Response, logs []string) bool {
	if resp.StatusCode != whisk.StatusDeveloperError {
		return false
	}
	for _, line := range logs {
		_, text, ok := strings.Cut(line, " stderr: ")
		if !ok {
			continue
		}
		if strings.Contains(text, "JavaScript heap out of memory") || text == "MemoryError" || strings.HasPrefix(text, "MemoryError:") {
			return true
		}
	}
	return false
}
