package odata

import (
	"fmt"
	"strings"
)

// Type is the type of a field in a Schema.
type Type int

// The field types. Enum-like fields (status, type, riskScore …) are String.
const (
	String           Type = iota + 1 // Go value: string or *string
	DateTime                         // Go value: time.Time or *time.Time
	Int                              // Go value: int64, int, int32 or *int64
	Bool                             // Go value: bool or *bool
	StringCollection                 // Go value: []string
)

// String returns the EDM name of t, as the service's messages use it.
func (t Type) String() string {
	switch t {
	case String:
		return "Edm.String"
	case DateTime:
		return "Edm.DateTimeOffset"
	case Int:
		return "Edm.Int64"
	case Bool:
		return "Edm.Boolean"
	case StringCollection:
		return "Collection(Edm.String)"
	default:
		return fmt.Sprintf("Type(%d)", int(t))
	}
}

// Field is one field a query may filter and sort on.
type Field struct {
	// Name is the canonical (wire) name, such as "creationDateTimeUtc". It
	// is the name Record.Field is called with.
	Name string
	Type Type
}

// Schema is the set of fields a query may filter and sort on. Names match
// case-insensitively. A Schema is immutable and safe for concurrent use.
type Schema struct {
	fields []Field
	byKey  map[string]Field
}

// NewSchema returns a Schema of fields. It panics on an empty or duplicate
// (case-insensitively) name or an unknown type: schemas are program
// constants, so these are programming errors.
func NewSchema(fields ...Field) *Schema {
	s := &Schema{fields: append([]Field(nil), fields...), byKey: make(map[string]Field, len(fields))}
	for _, f := range fields {
		if f.Name == "" {
			panic("odata: schema field with empty name")
		}
		if f.Type < String || f.Type > StringCollection {
			panic(fmt.Sprintf("odata: schema field %q has unknown type %d", f.Name, int(f.Type)))
		}
		key := strings.ToLower(f.Name)
		if _, dup := s.byKey[key]; dup {
			panic(fmt.Sprintf("odata: duplicate schema field %q", f.Name))
		}
		s.byKey[key] = f
	}
	return s
}

// Lookup returns the field called name, matched case-insensitively.
func (s *Schema) Lookup(name string) (Field, bool) {
	f, ok := s.byKey[strings.ToLower(name)]
	return f, ok
}

// Fields returns the fields of s in the order NewSchema got them.
func (s *Schema) Fields() []Field {
	return append([]Field(nil), s.fields...)
}
