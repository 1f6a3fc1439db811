package emulator

import "testing"

// TestPagesParse parses every page template, as the emulator did while
// starting before they were parsed on first use: a broken one fails here,
// not on the first request that needs it.
func TestPagesParse(t *testing.T) {
	for name, parse := range map[string]func() any{
		"dashboard":          func() any { return dashboardTemplates() },
		"devicelogin":        func() any { return deviceLoginPage() },
		"signin":             func() any { return signInPage() },
		"formpost":           func() any { return formPostPage() },
		"error":              func() any { return errorPage() },
		"credentials":        func() any { return credentialsText() },
		"credentials (HTML)": func() any { return credentialsHTML() },
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %v", name, r)
				}
			}()
			if parse() == nil {
				t.Errorf("%s: no template", name)
			}
		}()
	}
}
