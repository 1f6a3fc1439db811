package openapi

import (
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/golit"
)

// update makes TestGeneratedDocument write document_gen.go (go generate).
var update = flag.Bool("update", false, "write document_gen.go from mde-api.yaml")

// generatedFile is the file TestGeneratedDocument keeps in step with
// the document.
const generatedFile = "document_gen.go"

// literalOptions are golit's rules for kin-openapi's types: the maps of
// paths, responses and callbacks are filled through Set; what the loader
// keeps for itself (the document's URL, what it has visited, where each
// $ref pointed) is left out: validation does not read it.
var literalOptions = golit.Options{
	MapSetters: map[reflect.Type]string{
		reflect.TypeFor[openapi3.Paths]():     "m",
		reflect.TypeFor[openapi3.Responses](): "m",
		reflect.TypeFor[openapi3.Callback]():  "m",
	},
	Omit: func(t reflect.Type, f reflect.StructField) bool {
		return f.Name == "refPath" || t == reflect.TypeFor[openapi3.T]() && (f.Name == "visited" || f.Name == "url")
	},
	Package: "github.com/mdelive/mde-emulator/openapi",
}

// writeDocument returns the source of document_gen.go for doc.
func writeDocument(doc *openapi3.T) ([]byte, error) {
	return golit.File("TestGeneratedDocument (go generate ./openapi) from mde-api.yaml", "apiDocument",
		"apiDocument returns mde-api.yaml as Load parses it (TestGeneratedDocument\nholds the two equal), built without parsing it.",
		doc, literalOptions)
}

// TestGeneratedDocument holds document_gen.go to what mde-api.yaml says:
// its source is what writeDocument writes for the document Load parses
// now (with -update, it is written), and the document it builds is equal
// to Load's in every field, unexported ones too but for those the loader
// keeps for itself. If a kin-openapi upgrade leaves document_gen.go not
// compiling, empty apiDocument's body to "return nil" and run
// go generate ./openapi.
func TestGeneratedDocument(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	src, err := writeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	golit.Golden(t, generatedFile, src, *update, "go generate ./openapi")
	if *update {
		return
	}
	built := apiDocument()
	if built == nil {
		t.Fatal("apiDocument() = nil: run go generate ./openapi")
	}
	exported := cmp.Exporter(func(reflect.Type) bool { return true })
	loaderOnly := cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		if !ok || len(p) < 2 {
			return false
		}
		return literalOptions.Omit(p.Index(-2).Type(), reflect.StructField{Name: sf.Name()})
	}, cmp.Ignore())
	if diff := cmp.Diff(doc, built, exported, loaderOnly); diff != "" {
		t.Errorf("apiDocument() differs from Load() (-Load +apiDocument):\n%s", diff)
	}
	if !strings.Contains(string(src), "x.Set(\"/machines/{id}/runliveresponse\"") {
		t.Errorf("%s does not set the path of runliveresponse", generatedFile)
	}
}
