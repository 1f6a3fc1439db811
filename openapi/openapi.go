package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is the OpenAPI 3.0.3 document of the emulated API, as YAML.
// NewValidator builds it from document_gen.go, which
// "go generate ./openapi" writes from it.
//
//go:generate go test -run ^TestGeneratedDocument$ -update
//go:embed mde-api.yaml
var Spec []byte

// ControlSpec is the OpenAPI 3.0.3 document of the emulator's control
// plane (/_emulator), as YAML.
//
//go:embed control-api.yaml
var ControlSpec []byte

// Load parses Spec and validates it as an OpenAPI document. Each call
// returns a fresh *openapi3.T that the caller may change.
func Load() (*openapi3.T, error) { return load("mde-api.yaml", Spec) }

// LoadControl parses ControlSpec and validates it as an OpenAPI document.
// Each call returns a fresh *openapi3.T that the caller may change.
func LoadControl() (*openapi3.T, error) { return load("control-api.yaml", ControlSpec) }

// load parses and validates the document data; name is its file name, for
// errors.
func load(name string, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: load %s: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: validate %s: %w", name, err)
	}
	return doc, nil
}
