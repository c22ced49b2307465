package whisk

import (
	"errors"
	"fmt"
)

// Kind classifies an error the way the OpenWhisk API reports it. Each kind
// maps to exactly one HTTP status in the api package.
type Kind int

const (
	KindInternal         Kind = iota // 500
	KindInvalid                      // 400
	KindUnauthorized                 // 401
	KindForbidden                    // 403
	KindNotFound                     // 404
	KindMethodNotAllowed             // 405
	KindNotAcceptable                // 406
	KindConflict                     // 409
	KindTooLarge                     // 413
	KindUnsupportedMedia             // 415
	KindUnprocessable                // 422
	KindThrottled                    // 429
	KindUnavailable                  // 503
)

// Error is an error with a kind and the exact message a client sees.
type Error struct {
	Kind    Kind
	Message string
	Err     error // optional cause, not shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted client-facing message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, KindInternal for errors without one.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Messages the OpenWhisk API uses verbatim. Clients and the upstream tests
// match on them, so they live in one place.
const (
	MsgNotFound           = "The requested resource does not exist."
	MsgAlreadyExists      = "resource already exists"
	MsgNotInCollection    = "Resource by this name exists but is not in this collection."
	MsgConcurrentUpdate   = "Concurrent modification to resource detected."
	MsgIllegalName        = "The name of the entity contains illegal characters."
	MsgIllegalNamespace   = "The namespace contains illegal characters."
	MsgExecUndefined      = "exec undefined"
	MsgReservedParameters = "Request defines parameters that are not allowed (e.g., reserved properties)."
	MsgTimeoutParam       = "Timeout must be number of milliseconds up to 60000."
	MsgAuthMissing        = "The resource requires authentication, which was not supplied with the request"
	MsgAuthInvalid        = "The supplied authentication is invalid"
	MsgNotAuthorized      = "The supplied authentication is not authorized to access this resource."
	MsgEntityExpected     = "The request content was malformed:\nrequest entity expected"
	MsgMalformedPrefix    = "The request content was malformed:\n"
)

// NotFound is the plain 404 for an entity the caller owns that is missing.
func NotFound() *Error { return &Error{Kind: KindNotFound, Message: MsgNotFound} }

// Invalid is a 400 with the given message.
func Invalid(format string, args ...any) *Error { return Errorf(KindInvalid, format, args...) }

// Malformed is a 400 wrapped in the framework's malformed-content prefix.
func Malformed(detail string) *Error {
	return &Error{Kind: KindInvalid, Message: MsgMalformedPrefix + detail}
}

// MessageOf is the client-facing text of err: an *Error's message (even
// when wrapped), else the error's text.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
