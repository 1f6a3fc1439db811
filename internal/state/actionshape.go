package state

// actionShape is what was asked of an action, which does not change once
// it is made: who asked (requestor, and the object id of the user who did,
// "" for an app), why (comment), the commands with their parameters, and
// the action's id when it is not a GUID (oddID, lower case; "" for the
// GUIDs the emulator makes, which the action keeps as bytes).
//
// Actions asked alike share one (actionSlab.shape): an app that runs one
// script with the same arguments and comment on machine after machine,
// the usual automation, makes one shape, not one per action. An action
// then holds one pointer where it held ten (its requestor, comment, user,
// command type, parameters' slice, keys and values): each was a word of
// memory the collector reads in every kept action, nil or not
// (docs/performance.md, "Fewer words to scan").
type actionShape struct {
	requestor string
	comment   *string
	user      string
	oddID     string
	commands  []Command // interned (interned), each validated
	// cmd and params hold the commands of the usual shape, one with at
	// most two parameters: the shape is then one object.
	cmd    [1]Command
	params [2]Param
}

// shapeKey is what makes two shapes alike, for the usual shape of a
// request: one command with at most two parameters, an id that is a GUID.
type shapeKey struct {
	requestor, user string
	comment         string
	commented       bool // comment is set, perhaps to ""
	typ             string
	n               int // parameters in params
	params          [2]Param
}

// shapeCacheMax bounds actionSlab.shapes: past it, the map is emptied and
// the shapes it held are shared by the actions that have them only.
const shapeCacheMax = 256

// shape returns the shape of an action asked by requestor (and user) with
// comment and cmds, which are validated: one made before for an action
// asked alike, if the slab still has it, else a new one with cmds
// interned.
func (s *actionSlab) shape(requestor, user string, comment *string, cmds []Command) *actionShape {
	if len(cmds) != 1 || len(cmds[0].Params) > 2 {
		return newShape(requestor, user, comment, cmds)
	}
	k := shapeKey{requestor: requestor, user: user, typ: cmds[0].Type, n: len(cmds[0].Params)}
	if comment != nil {
		k.comment, k.commented = *comment, true
	}
	copy(k.params[:], cmds[0].Params)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.shapes[k]; ok {
		return sh
	}
	if s.shapes == nil || len(s.shapes) >= shapeCacheMax {
		s.shapes = make(map[shapeKey]*actionShape, 16)
	}
	sh := newShape(requestor, user, comment, cmds)
	s.shapes[k] = sh
	return sh
}

// newShape returns a shape of its own, with cmds interned.
func newShape(requestor, user string, comment *string, cmds []Command) *actionShape {
	sh := &actionShape{requestor: requestor, user: user, comment: comment}
	if len(cmds) == 1 && len(cmds[0].Params) <= len(sh.params) {
		sh.commands = sh.cmd[:]
		sh.cmd[0] = interned(cmds[0], sh.params[:0])
		return sh
	}
	sh.commands = make([]Command, len(cmds))
	for i, c := range cmds {
		sh.commands[i] = interned(c, nil)
	}
	return sh
}

// withOddID returns a copy of sh, of its own, for an action whose id is
// id, not a GUID.
func (sh *actionShape) withOddID(id string) *actionShape {
	c := newShape(sh.requestor, sh.user, sh.comment, sh.commands)
	c.oddID = id
	return c
}
