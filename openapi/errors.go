package openapi

import "net/http"

// The error codes of the service that a Validator answers with, as they
// appear in the error body's code.
const (
	CodeBadRequest               = "BadRequest"
	CodeInvalidRequestBody       = "InvalidRequestBody"
	CodeMissingRequiredParameter = "MissingRequiredParameter"
	CodeRequestEntityTooLarge    = "RequestEntityTooLarge"
)

// Error is why a request does not match the document, in the service's
// vocabulary: the code and the message a client is answered with. The HTTP
// layer turns it into its own error type.
type Error struct {
	Code    string // one of the Code constants
	Message string
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Status is the HTTP status the service sends with e's code: 413 for
// RequestEntityTooLarge, 400 for the others.
func (e *Error) Status() int {
	if e.Code == CodeRequestEntityTooLarge {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}
