// Package openapi holds the emulator's contracts, embedded in the binary:
// one OpenAPI 3.0.3 document (mde-api.yaml) of everything the emulator
// serves under /api, with a Validator that checks requests against it and
// answers with the real service's error codes; and one (control-api.yaml)
// of the emulator's own control plane under /_emulator, which the
// emulator's tests check every control-plane response against
// (NewControlValidator).
//
// The package has no process-wide effect: kin-openapi's table of body
// decoders stays as kin-openapi fills it; the Validator decodes JSON
// bodies itself and leaves the rest to kin-openapi.
//
// The API document follows the real service's spelling: PascalCase,
// case-sensitive request bodies (Commands, Comment), camelCase responses,
// and the OData-style path
// /machineactions/{id}/GetLiveResponseResultDownloadLink(index={index}).
package openapi
