package servicehosts

import "testing"

func TestOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host string
		want Kind
	}{
		{"api.securitycenter.microsoft.com", API},
		{"API.SecurityCenter.Microsoft.com:443", API},
		{"api-eu.securitycenter.microsoft.com", API},
		{"swa.api.security.microsoft.com.", API},
		{"api-gov.securitycenter.microsoft.us", API},
		{"login.microsoftonline.com:443", Identity},
		{"login.windows.net", Identity},
		{"login.microsoftonline.us", Identity},
		{BlobHost + ":443", Blob},
		{"other.blob.core.windows.net", Unknown},
		{"api.securitycenter.microsoft.com.evil.example", Unknown},
		{"evil.example", Unknown},
		{"127.0.0.1:8080", Unknown},
		{"", Unknown},
	} {
		if got := Of(tc.host); got != tc.want {
			t.Errorf("Of(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestAllHoldsEveryKind(t *testing.T) {
	t.Parallel()
	seen := map[Kind]int{}
	for _, h := range All() {
		k := Of(h)
		if k == Unknown {
			t.Errorf("All() holds %q, which Of does not know", h)
		}
		seen[k]++
	}
	if seen[API] != len(apiHosts) || seen[Identity] != len(identityHosts) || seen[Blob] != 1 {
		t.Errorf("All() by kind: %v", seen)
	}
}
