package emulator

import (
	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/intern"
	"github.com/mdelive/mde-emulator/internal/jsonscan"
	"github.com/mdelive/mde-emulator/internal/state"
	"github.com/mdelive/mde-emulator/openapi"
)

// submitRequest returns the body of a runliveresponse call, which the
// OpenAPI validator has validated, as the domain's SubmitRequest: read
// from the body's bytes when they are written plainly (decodeSubmitRequest),
// else from the value the validator decoded (state.SubmitRequestFrom).
// ok is false when the body was not validated or does not have the
// shape the schema promises.
func submitRequest(c echo.Context) (req state.SubmitRequest, ok bool) {
	if data, ok := openapi.ValidatedJSON(c.Request()); ok {
		if req, ok := decodeSubmitRequest(data); ok {
			return req, true
		}
	}
	return state.SubmitRequestFrom(validatedBody(c))
}

// decodeSubmitRequest reads a runliveresponse body straight into a
// SubmitRequest, with no generic values in between, and gives what
// state.SubmitRequestFrom gives for the decoded body (a test holds them
// to it). It reads only bodies written plainly: the properties
// SubmitRequestFrom reads and no others, strings without escapes or
// non-ASCII bytes. Any other body is false, for SubmitRequestFrom to read.
// data must be valid JSON (the validator's scan accepted it): the grammar
// is not checked again beyond what the reading needs.
func decodeSubmitRequest(data []byte) (req state.SubmitRequest, ok bool) {
	d := submitDecoder{jsonscan.Cursor{Data: data}}
	ok = d.object(func(key string) bool {
		switch key {
		case "Comment":
			if d.null() {
				req.Comment = nil
				return true
			}
			b, ok := d.PlainString()
			req.Comment = submitStrings.Pointer(b)
			return ok
		case "Commands":
			req.Commands = make([]state.Command, 0, 1)
			return d.array(func() bool {
				cmd, ok := d.command()
				req.Commands = append(req.Commands, cmd)
				return ok
			})
		}
		return false
	})
	d.Space()
	return req, ok && req.Commands != nil && d.Pos == len(d.Data)
}

// submitDecoder reads a plainly written runliveresponse body.
type submitDecoder struct {
	jsonscan.Cursor
}

// command reads one of the body's commands: its type and its params.
func (d *submitDecoder) command() (cmd state.Command, ok bool) {
	var typed bool
	ok = d.object(func(key string) bool {
		switch key {
		case "type":
			var ok bool
			cmd.Type, ok = d.string()
			typed = true
			return ok
		case "params":
			cmd.Params = make([]state.Param, 0, 2)
			return d.array(func() bool {
				p, ok := d.param()
				cmd.Params = append(cmd.Params, p)
				return ok
			})
		}
		return false
	})
	return cmd, ok && typed && cmd.Params != nil
}

// param reads one parameter of a command: its key and its value.
func (d *submitDecoder) param() (p state.Param, ok bool) {
	var keyed, valued bool
	ok = d.object(func(key string) bool {
		var ok bool
		switch key {
		case "key":
			p.Key, ok = d.string()
			keyed = true
		case "value":
			p.Value, ok = d.string()
			valued = true
		}
		return ok
	})
	return p, ok && keyed && valued
}

// next steps over c, after white space, and reports whether it was there.
func (d *submitDecoder) next(c byte) bool {
	d.Space()
	return d.Next(c)
}

// object reads an object, calling member for each of its keys with the
// reader on the key's value; member reads the value and reports whether
// it could.
func (d *submitDecoder) object(member func(key string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		d.Space()
		key, ok := d.PlainString()
		if !ok || !d.next(':') {
			return false
		}
		d.Space()
		if !member(submitKey(key)) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// array reads an array, calling elem for each of its elements.
func (d *submitDecoder) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		d.Space()
		if !elem() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// null reads a null if there is one.
func (d *submitDecoder) null() bool { return d.Literal("null") }

// submitStrings holds one copy of the strings runliveresponse bodies
// repeat (script names, arguments, comments, parameter keys), which each
// action keeps as long as it is kept.
var submitStrings intern.Table

// string reads a plainly written string; a command type is the domain's
// own string, any other the copy submitStrings holds.
func (d *submitDecoder) string() (string, bool) {
	b, ok := d.PlainString()
	if !ok {
		return "", false
	}
	switch string(b) {
	case state.RunScript:
		return state.RunScript, true
	case state.GetFile:
		return state.GetFile, true
	case state.PutFile:
		return state.PutFile, true
	}
	return submitStrings.String(b), true
}

// submitKey returns the property name key is, without allocating, for
// the names the body has; any other key is "" (which no member reads).
func submitKey(key []byte) string {
	for _, name := range submitKeys {
		if string(key) == name {
			return name
		}
	}
	return ""
}

// submitKeys are the property names of a runliveresponse body.
var submitKeys = [...]string{"Comment", "Commands", "type", "params", "key", "value"}
