// Package openapi holds the emulator's contract: one OpenAPI 3.0.3 document
// (mde-api.yaml) of everything the emulator serves under /api, embedded in
// the binary, and a Validator that checks requests against it and answers
// with the real service's error codes.
//
// The document follows the real service's spelling: PascalCase,
// case-sensitive request bodies (Commands, Comment), camelCase responses,
// and the OData-style path
// /machineactions/{id}/GetLiveResponseResultDownloadLink(index={index}).
package openapi
