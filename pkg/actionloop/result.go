package actionloop

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ResponseOf maps a launcher's result line (or an action container's /run
// answer) to an activation response the way OpenWhisk's invoker maps a
// /run response. line holds the first bytes of a
// line of n bytes (no newline); it is complete unless n > MaxResultBytes.
// The result never aliases line.
func ResponseOf(line []byte, n int) whisk.Response {
	if n > MaxResultBytes {
		prefix := cutRunes(line[:min(len(line), MaxResultBytes)])
		return whisk.Response{
			StatusCode: whisk.StatusApplicationError,
			Result:     ErrorResult(TruncatedResultMessage(n, string(prefix))),
		}
	}
	b := bytes.TrimSpace(line)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') || !json.Valid(b) {
		msg := MsgInvalidResponse
		if len(b) > 0 {
			msg += ": " + string(b)
		}
		return DeveloperError(msg)
	}
	if b[0] == '[' {
		size := len(b)
		return whisk.Response{StatusCode: whisk.StatusSuccess, Result: bytes.Clone(b), Size: &size}
	}
	errVal, devErr := topLevel(b)
	switch {
	case devErr && errVal == nil:
		return DeveloperError(MsgInvalidResponse + ": " + string(b))
	case devErr:
		return whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: wrapError(errVal)}
	case errVal != nil:
		return whisk.Response{StatusCode: whisk.StatusApplicationError, Result: wrapError(errVal)}
	}
	size := len(b)
	return whisk.Response{StatusCode: whisk.StatusSuccess, Result: bytes.Clone(b), Size: &size}
}

// wrapError renders {"error":<v>}.
func wrapError(v []byte) json.RawMessage {
	b := make([]byte, 0, len(v)+10)
	b = append(b, `{"error":`...)
	b = append(b, v...)
	return append(b, '}')
}

// DeveloperError is the response of an activation the action's own code
// failed: {"error":msg} with status developer error.
func DeveloperError(msg string) whisk.Response {
	return whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: ErrorResult(msg)}
}

// cutRunes drops a trailing incomplete UTF-8 sequence from b.
func cutRunes(b []byte) []byte {
	k := len(b) - 1
	for k > 0 && k > len(b)-utf8.UTFMax && !utf8.RuneStart(b[k]) {
		k--
	}
	if k >= 0 && !utf8.FullRune(b[k:]) {
		return b[:k]
	}
	return b
}
