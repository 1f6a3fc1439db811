package odata

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rec is a Record backed by a map from canonical field name to value.
type rec map[string]any

func (r rec) Field(name string) any { return r[name] }

// actionSchema is the filterable fields of /machineactions (contract §4.1)
// plus a few extra fields that cover every type.
var actionSchema = NewSchema(
	Field{Name: "id", Type: String},
	Field{Name: "status", Type: String},
	Field{Name: "machineId", Type: String},
	Field{Name: "type", Type: String},
	Field{Name: "requestor", Type: String},
	Field{Name: "creationDateTimeUtc", Type: DateTime},
	Field{Name: "cancellationDateTimeUtc", Type: DateTime},
	Field{Name: "errorHResult", Type: Int},
	Field{Name: "isAadJoined", Type: Bool},
	Field{Name: "machineTags", Type: StringCollection},
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func TestNewSchemaPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields []Field
	}{
		{"empty name", []Field{{Name: "", Type: String}}},
		{"duplicate name", []Field{{Name: "id", Type: String}, {Name: "ID", Type: Int}}},
		{"unknown type", []Field{{Name: "id", Type: Type(42)}}},
		{"zero type", []Field{{Name: "id"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("NewSchema(%v) did not panic", tt.fields)
				}
			}()
			NewSchema(tt.fields...)
		})
	}
}

func TestSchemaLookup(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"creationDateTimeUtc", "CreationDateTimeUtc", "CREATIONDATETIMEUTC"} {
		got, ok := actionSchema.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", name)
			continue
		}
		if diff := cmp.Diff(Field{Name: "creationDateTimeUtc", Type: DateTime}, got); diff != "" {
			t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", name, diff)
		}
	}
	if _, ok := actionSchema.Lookup("foo"); ok {
		t.Errorf("Lookup(%q) found a field", "foo")
	}
	if got := len(actionSchema.Fields()); got != 10 {
		t.Errorf("len(Fields()) = %d, want 10", got)
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	got := []string{String.String(), DateTime.String(), Int.String(), Bool.String(), StringCollection.String(), Type(0).String()}
	want := []string{"Edm.String", "Edm.DateTimeOffset", "Edm.Int64", "Edm.Boolean", "Collection(Edm.String)", "Type(0)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Type.String mismatch (-want +got):\n%s", diff)
	}
}
