// Package apierr holds the error vocabulary of the Defender for Endpoint API:
// the codes the real service puts in {"error":{"code","message","target"}},
// the HTTP status each code travels with, and the Error type the domain
// packages return. Clients match on the code, never on the message.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is an error code of the real service, as it appears in error.code.
type Code string

// The codes the emulator answers with. The list follows the service's
// "Handling REST API errors" page; the status of each is Code.Status.
const (
	BadRequest                 Code = "BadRequest"
	ODataError                 Code = "ODataError"
	InvalidInput               Code = "InvalidInput"
	InvalidRequestBody         Code = "InvalidRequestBody"
	MissingRequiredParameter   Code = "MissingRequiredParameter"
	OsPlatformNotSupported     Code = "OsPlatformNotSupported"
	ClientVersionNotSupported  Code = "ClientVersionNotSupported"
	ActiveRequestAlreadyExists Code = "ActiveRequestAlreadyExists"
	Unauthorized               Code = "Unauthorized"
	Forbidden                  Code = "Forbidden"
	DisabledFeature            Code = "DisabledFeature"
	DisallowedOperation        Code = "DisallowedOperation"
	NotFound                   Code = "NotFound"
	ResourceNotFound           Code = "ResourceNotFound"
	MethodNotAllowed           Code = "MethodNotAllowed"
	Conflict                   Code = "Conflict"
	RequestEntityTooLarge      Code = "RequestEntityTooLarge"
	TooManyRequests            Code = "TooManyRequests"
	InternalServerError        Code = "InternalServerError"
	ServiceUnavailable         Code = "ServiceUnavailable"
)

// Status is the HTTP status the service sends with c.
func (c Code) Status() int {
	switch c {
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden, DisabledFeature, DisallowedOperation:
		return http.StatusForbidden
	case NotFound, ResourceNotFound:
		return http.StatusNotFound
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Conflict:
		return http.StatusConflict
	case RequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case TooManyRequests:
		return http.StatusTooManyRequests
	case InternalServerError:
		return http.StatusInternalServerError
	case ServiceUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// Error is an error of the service: a code and a free-text message.
type Error struct {
	Code    Code
	Message string
	// RetryAfter is, for TooManyRequests, the emulated time after which the
	// same call will succeed. The HTTP layer turns it into Retry-After.
	RetryAfter time.Duration
}

// New returns an *Error with the message formatted from format and args.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the code and the message.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Status is the HTTP status of e's code.
func (e *Error) Status() int { return e.Code.Status() }

// As returns err as an *Error when it is or wraps one, and nil otherwise.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf returns the code of err, or InternalServerError for an error that
// is not an *Error. Act on the code, not on the message.
func CodeOf(err error) Code {
	if e := As(err); e != nil {
		return e.Code
	}
	return InternalServerError
}
