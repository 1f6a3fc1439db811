package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// maxErrors is how many problems Parse reports at most; more are counted
// in one last error.
const maxErrors = 20

// Error is one problem of a scenario file, at a line of it.
type Error struct {
	// Name is the name of the file, as given to Parse or Load.
	Name string
	// Line is the 1-based line of the problem; 0 when unknown.
	Line int
	// Message says what is wrong.
	Message string
}

// Error returns "name:line: message", or "name: message" when the line is
// unknown.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Message)
}

// problems collects the problems of one file.
type problems struct {
	name string
	list []*Error
}

func (p *problems) add(line int, format string, args ...any) {
	p.list = append(p.list, &Error{Name: p.name, Line: line, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by line (equal lines keep their order)
// and joined with errors.Join, the first maxErrors of them; nil when there
// are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	errs := slices.Clone(p.list)
	slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	extra := 0
	if len(errs) > maxErrors {
		extra = len(errs) - maxErrors
		errs = errs[:maxErrors]
	}
	list := make([]error, 0, len(errs)+1)
	for _, e := range errs {
		list = append(list, e)
	}
	if extra > 0 {
		list = append(list, &Error{Name: p.name, Message: fmt.Sprintf("and %d more problems", extra)})
	}
	return errors.Join(list...)
}
