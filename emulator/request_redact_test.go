package emulator

import "testing"

func TestRedactPairs(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"secret", "client_id=a&client_secret=s3cr%21t&scope=x", "client_id=a&client_secret=REDACTED&scope=x"},
		{"every secret key", "client_assertion=j&password=p&refresh_token=r&code=c&grant_type=g",
			"client_assertion=REDACTED&password=REDACTED&refresh_token=REDACTED&code=REDACTED&grant_type=g"},
		{"device code and PKCE verifier", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d&code_verifier=v",
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=REDACTED&code_verifier=REDACTED"},
		{"a sign-in page's session", "session=s3ss10n&user=1f2e&decline=", "session=REDACTED&user=1f2e&decline="},
		{"escaped key", "client%5Fsecret=s", "client%5Fsecret=REDACTED"},
		{"key in other case", "Client_Secret=s", "Client_Secret=REDACTED"},
		{"body cut in the value", "client_id=a&client_secret=s3c", "client_id=a&client_secret=REDACTED"},
		{"empty value", "client_secret=&x=1", "client_secret=REDACTED&x=1"},
		{"no secret", "grant_type=client_credentials&scope=x", "grant_type=client_credentials&scope=x"},
		{"a key that only contains one", "my_code=1&codes=2", "my_code=1&codes=2"},
		{"not a form", `{"client_secret":"s"}`, `{"client_secret":"s"}`},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		if got := redactForm(tc.in); got != tc.want {
			t.Errorf("%s: redactForm(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	if got, want := redactQuery("se=2026-01-05T10%3A31%3A01Z&sig=abc%2Bdef%3D&sp=r"), "se=2026-01-05T10%3A31%3A01Z&sig=REDACTED&sp=r"; got != want {
		t.Errorf("redactQuery = %q, want %q", got, want)
	}
	if got := redactQuery("$filter=signature eq 1"); got != "$filter=signature eq 1" {
		t.Errorf("redactQuery of a query without sig = %q", got)
	}
}

func TestRedactText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`value "https://x/_blob/a?se=2026&sp=r&sig=abc%2B=" does not match`, `value "https://x/_blob/a?se=2026&sp=r&sig=REDACTED" does not match`},
		{`{"value":"http://h/b?sig=s3cr3t&sv=1"}`, `{"value":"http://h/b?sig=REDACTED&sv=1"}`},
		{`escaped \"http://h/b?SIG=x\" end`, `escaped \"http://h/b?SIG=REDACTED\" end`},
		{"body client_secret=abc and password=p", "body client_secret=REDACTED and password=REDACTED"},
		{"signature=1 mysig=2 design=3", "signature=1 mysig=2 design=3"},
		{"nothing here", "nothing here"},
	}
	for _, tc := range tests {
		if got := redactText(tc.in); got != tc.want {
			t.Errorf("redactText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
