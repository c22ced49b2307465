package actionloop

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone; invalid UTF-8 becomes U+FFFD as there.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendValue appends a raw JSON value on one line: a newline or carriage
// return can only be whitespace between tokens in valid JSON, so it becomes
// a space. An empty value is {}.
func appendValue(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, '{', '}')
	}
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return append(dst, v...)
	}
	n := len(dst)
	dst = append(dst, v...)
	for i := n; i < len(dst); i++ {
		if dst[i] == '\n' || dst[i] == '\r' {
			dst[i] = ' '
		}
	}
	return dst
}

// ErrorResult renders {"error":msg} as launchers render it: unlike
// whisk.ErrorResult it leaves <, > and & alone, so the messages of the
// image server's answers read as local mode's.
func ErrorResult(msg string) json.RawMessage {
	b := make([]byte, 0, len(msg)+12)
	b = append(b, `{"error":`...)
	b = appendString(b, msg)
	return append(b, '}')
}

// topLevel scans the valid JSON object b for the raw values of its "error"
// and "__ow_developer_error" keys.
func topLevel(b []byte) (errVal []byte, devErr bool) {
	i := skipSpace(b, 1)
	if i >= len(b) || b[i] == '}' {
		return nil, false
	}
	for i < len(b) && b[i] == '"' {
		ke := skipString(b, i)
		key := b[i+1 : ke-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if json.Unmarshal(b[i:ke], &s) == nil {
				key = []byte(s)
			}
		}
		i = skipSpace(b, ke)
		i = skipSpace(b, i+1) // the colon
		ve := skipValue(b, i)
		switch string(key) {
		case "error":
			errVal = b[i:ve]
		case "__ow_developer_error":
			devErr = string(b[i:ve]) == "true"
		}
		i = skipSpace(b, ve)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = skipSpace(b, i+1)
	}
	return errVal, devErr
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
