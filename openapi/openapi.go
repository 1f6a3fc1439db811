package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is the OpenAPI 3.0.3 document of the emulated API, as YAML.
//
//go:embed mde-api.yaml
var Spec []byte

// Load parses Spec and validates it as an OpenAPI document. Each call
// returns a fresh *openapi3.T that the caller may change.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: load mde-api.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: validate mde-api.yaml: %w", err)
	}
	return doc, nil
}
