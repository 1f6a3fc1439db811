// Package servicehosts names the real service's hosts that clients of the
// Defender for Endpoint API ship with: the API hosts (commercial, geo, US
// Government, legacy), the identity platform's hosts, and the host the
// emulator's result links use under real host names. It is the one list
// behind the accepted token audiences, the TLS certificate's names and the
// proxy mode's allow-list (docs/service-contract.md, "Hosts").
package servicehosts

import (
	"net"
	"strings"
)

// Kind is what a host serves.
type Kind int

const (
	// Unknown is a host the emulator does not serve.
	Unknown Kind = iota
	// API is a Defender for Endpoint API host (/api/...).
	API
	// Identity is a Microsoft identity platform host (the token endpoints).
	Identity
	// Blob is the host of result download links.
	Blob
)

func (k Kind) String() string {
	switch k {
	case API:
		return "API"
	case Identity:
		return "identity"
	case Blob:
		return "blob"
	}
	return "unknown"
}

// apiHosts are the API's host names, each with its source:
//   - api.securitycenter.microsoft.com: the live response documentation;
//     api.security.microsoft.com: the library and machines documentation.
//   - us., eu., uk., au., swa., ina., aea. + api.security.microsoft.com: the
//     geo hosts of the documentation's performance tips.
//   - api-us., api-eu., api-uk. + securitycenter.microsoft.com: the legacy
//     regional hosts published clients ship with (a Python CLI's default
//     resource, SOAR integrations' host tables); api-us3 seen in a client's
//     test payloads.
//   - api.securitycenter.windows.com, api-eu.securitycenter.windows.com:
//     the oldest names, still in real payloads' @odata.context.
//   - api-gcc. and api-gov. + securitycenter.microsoft.us: US Government
//     (GCC; GCC High and DoD).
var apiHosts = []string{
	"api.securitycenter.microsoft.com",
	"api.security.microsoft.com",
	"us.api.security.microsoft.com",
	"eu.api.security.microsoft.com",
	"uk.api.security.microsoft.com",
	"au.api.security.microsoft.com",
	"swa.api.security.microsoft.com",
	"ina.api.security.microsoft.com",
	"aea.api.security.microsoft.com",
	"api-us.securitycenter.microsoft.com",
	"api-eu.securitycenter.microsoft.com",
	"api-uk.securitycenter.microsoft.com",
	"api-us3.securitycenter.microsoft.com",
	"api.securitycenter.windows.com",
	"api-eu.securitycenter.windows.com",
	"api-gcc.securitycenter.microsoft.us",
	"api-gov.securitycenter.microsoft.us",
}

// identityHosts are the identity platform's hosts: the commercial cloud's
// two names and the US Government cloud's.
var identityHosts = []string{
	"login.microsoftonline.com",
	"login.windows.net",
	"login.microsoftonline.us",
}

// BlobHost is the host of the result links the emulator mints when a
// client reached it under a real API host name. The service's links go to
// an Azure Storage account under blob.core.windows.net whose name it does
// not document; this account name is the emulator's.
const BlobHost = "mdeliveresponse.blob.core.windows.net"

// APIHosts returns the API's host names.
func APIHosts() []string { return append([]string(nil), apiHosts...) }

// IdentityHosts returns the identity platform's host names.
func IdentityHosts() []string { return append([]string(nil), identityHosts...) }

// All returns every host name the emulator serves under its real name: the
// names a certificate for the proxy mode and --tls must hold.
func All() []string {
	all := make([]string, 0, len(apiHosts)+len(identityHosts)+1)
	all = append(all, apiHosts...)
	all = append(all, identityHosts...)
	return append(all, BlobHost)
}

// Of returns what host serves. host may carry a port ("x:443") and any
// letter case.
func Of(host string) Kind {
	host = Hostname(host)
	switch {
	case host == BlobHost:
		return Blob
	case contains(apiHosts, host):
		return API
	case contains(identityHosts, host):
		return Identity
	}
	return Unknown
}

// Hostname returns host without its port, lower-cased, without a trailing
// dot.
func Hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
