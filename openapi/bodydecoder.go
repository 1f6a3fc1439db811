package openapi

import (
	"bytes"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// openapi3filter's own JSON decoder streams through a json.Decoder
	// with reflection; the bodies here are small and already in memory,
	// and decodeJSONValue decodes them in one pass several times faster.
	// The decoder is registered for the process, as openapi3filter keeps
	// one table.
	openapi3filter.RegisterBodyDecoder("application/json", jsonBodyDecoder)
}

// jsonBodyDecoder decodes a JSON request body into generic values for
// schema validation. Numbers become float64.
func jsonBodyDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var data []byte
	if br, ok := body.(*bytes.Reader); ok {
		data = make([]byte, br.Len())
		_, _ = br.Read(data)
	} else {
		var err error
		if data, err = io.ReadAll(body); err != nil {
			return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
		}
	}
	v, err := decodeJSONValue(data)
	if err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	return v, nil
}
