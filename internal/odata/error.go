package odata

import "fmt"

// Error is the error Parse returns for a query the service rejects. Its
// Error method gives the whole message for the service's 400 ODataError
// body: "Invalid OData URI query: " followed by Detail.
type Error struct {
	// Option is the query option at fault, such as "$filter" or "$top".
	Option string
	// Pos is the 1-based character position in the option's value where
	// the problem was found, or 0 when the problem has no position.
	Pos int
	// Detail says what is wrong, for a human.
	Detail string
}

// Error returns the message of the service's 400 ODataError.
func (e *Error) Error() string { return "Invalid OData URI query: " + e.Detail }

// errorf returns an *Error without a position.
func errorf(option, format string, args ...any) *Error {
	return &Error{Option: option, Detail: fmt.Sprintf(format, args...)}
}
