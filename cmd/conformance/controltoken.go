package main

import (
	"net/http"
	"strings"
)

// withControlToken returns client with a transport that sends token as
// "Authorization: Bearer {token}" on the requests to an emulator's control
// plane (/_emulator/…), the way an emulator whose control plane is exposed
// (--expose-control) requires. Other requests, and all requests when token
// is empty, go as they are.
func withControlToken(client *http.Client, token string) *http.Client {
	if token == "" {
		return client
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *client
	c.Transport = controlTokenTransport{token: token, next: next}
	return &c
}

type controlTokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t controlTokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/_emulator/") || r.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change its request
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}
