package scenario

import (
	"fmt"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// Error is one problem of a scenario file, at a line of it: the fixture
// format's, so that a scenario's own problems and its inline fixture's
// read alike.
type Error = fixture.Error

// problems collects the problems of one file.
type problems struct {
	name string
	list []*Error
}

func (p *problems) add(line int, format string, args ...any) {
	p.list = append(p.list, &Error{Name: p.name, Line: line, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by line (equal lines keep their order)
// and joined with errors.Join, the first 20 of them; nil when there are
// none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return fixture.JoinErrors(p.name, p.list, 0)
}
