package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/trace"
)

// Header is the W3C Trace Context header, in the canonical form Go's HTTP
// server gives incoming header names: read it as h[Header], which unlike
// h.Get does not canonicalise (and allocate) on every request.
const Header = "Traceparent"

// Normalize returns the traceparent h in version 00 form, or "" when h is
// empty or not a valid traceparent (which W3C says to ignore). A valid
// version 00 value is returned as is. A later version is read by its
// version 00 fields, as the specification asks of a parser that does not
// know it.
func Normalize(h string) string {
	if len(h) < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return ""
	}
	switch {
	case h[:2] == "00":
		if len(h) != 55 {
			return ""
		}
	case h[:2] == "ff" || !isHex(h[:2]):
		return ""
	case len(h) > 55 && h[55] != '-':
		return ""
	}
	if !isHex(h[3:35]) || !isHex(h[36:52]) || !isHex(h[53:55]) || allZero(h[3:35]) || allZero(h[36:52]) {
		return ""
	}
	if h[:2] != "00" {
		return "00" + h[2:55]
	}
	return h
}

// Parse reads a traceparent as the span context of a remote parent; the
// zero SpanContext (not valid) when h is not a valid traceparent.
func Parse(h string) trace.SpanContext {
	h = Normalize(h)
	if h == "" {
		return trace.SpanContext{}
	}
	tid, err1 := trace.TraceIDFromHex(h[3:35])
	sid, err2 := trace.SpanIDFromHex(h[36:52])
	if err1 != nil || err2 != nil {
		return trace.SpanContext{}
	}
	flags := trace.TraceFlags(unhex(h[53])<<4 | unhex(h[54]))
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
}

// Format renders sc as a traceparent; "" when sc is not valid.
func Format(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// isHex reports whether s is lower-case hex, as W3C requires.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// FromHeader returns the traceparent of an HTTP request's headers, as
// received ("" if none).
func FromHeader(h http.Header) string {
	if v := h[Header]; len(v) > 0 {
		return v[0]
	}
	return ""
}
