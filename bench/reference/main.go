// Command reference is the bare net/http server that bench/run measures
// the emulator against: the practical upper bound of the live response
// exchange on one core. It answers with canned bodies, reads no request
// body, checks no token and keeps no state:
//
//   - POST /api/machines/{id}/runliveresponse → 201 with a MachineAction
//     (any 40-hex machine id but all zeros; else 404 ResourceNotFound);
//     with --throttle → 429 with Retry-After and the service's error body,
//     the answer a client over the rate limit gets;
//   - GET /api/machineactions/{id} → 200 with the same MachineAction for
//     its id, 404 for any other;
//   - POST /_emulator/tokens → 200 with a canned token, so that the
//     start-up measure takes the same steps as against the emulator.
//
// It uses the standard library only.
//
//	reference [--addr 127.0.0.1:18081] [--throttle]
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

const (
	// actionID is the id of the canned MachineAction.
	actionID = "5d8bd2a8-3fc7-4b1e-a9b6-4f12e0e6b7a1"
	// unknownMachineID is the machine the reference answers 404 for.
	unknownMachineID = "0000000000000000000000000000000000000000"
	// contentType is the Content-Type of every answer, the emulator's.
	contentType = "application/json; charset=utf-8"
	// retryAfter is the Retry-After of the canned 429, in seconds.
	retryAfter = "42"
)

// actionBody is the canned MachineAction of the 201 and the 200: a
// RunScript live response as the emulator answers it, of the same size.
var actionBody = []byte(`{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity",` +
	`"id":"` + actionID + `","type":"LiveResponse","scope":null,"requestor":"SOAR Automation",` +
	`"requestorComment":"Testing Live Response API","status":"Pending",` +
	`"machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"gen-000001.contoso.local",` +
	`"creationDateTimeUtc":"2026-03-14T09:26:53.1234567Z","lastUpdateDateTimeUtc":"2026-03-14T09:26:53.1234567Z",` +
	`"cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,` +
	`"errorHResult":0,"title":null,"externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,` +
	`"commands":[{"index":0,"startTime":null,"endTime":null,"commandStatus":"Created","errors":[],` +
	`"command":{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}}],` +
	`"troubleshootInfo":null}`)

// notFoundBody is the canned 404 of an unknown machine or action.
var notFoundBody = []byte(`{"error":{"code":"ResourceNotFound","message":"Machine was not found","target":"8d0c2b1e-6d5f-4a57-9a43-0c1f3b7e2d11"}}`)

// throttledBody is the canned 429: the emulator's error body for a call
// over the rate limit.
var throttledBody = []byte(`{"error":{"code":"TooManyRequests","message":"Too many requests: the rate limit of this API for the application was reached. Retry after the time in the Retry-After header.","target":"3f4e9a61-2b7c-4d18-8e05-7a9c1d2b6f30"}}`)

// tokenBody is the canned answer of POST /_emulator/tokens.
var tokenBody = []byte(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"bench"}`)

func main() {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18081", "address to listen on")
	throttle := fs.Bool("throttle", false, "answer every runliveresponse with the canned 429")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
	fmt.Printf("reference: listening on http://%s\n", ln.Addr())
	if err := http.Serve(ln, newHandler(*throttle)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}

// newHandler returns the reference's routes; with throttle every
// runliveresponse answers the canned 429.
func newHandler(throttle bool) http.Handler {
	ct := []string{contentType}
	write := func(w http.ResponseWriter, status int, body []byte) {
		w.Header()["Content-Type"] = ct
		w.WriteHeader(status)
		w.Write(body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/machines/{id}/runliveresponse", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !knownMachine(r.PathValue("id")):
			write(w, http.StatusNotFound, notFoundBody)
		case throttle:
			w.Header()["Retry-After"] = []string{retryAfter}
			write(w, http.StatusTooManyRequests, throttledBody)
		default:
			write(w, http.StatusCreated, actionBody)
		}
	})
	mux.HandleFunc("GET /api/machineactions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != actionID {
			write(w, http.StatusNotFound, notFoundBody)
			return
		}
		write(w, http.StatusOK, actionBody)
	})
	mux.HandleFunc("POST /_emulator/tokens", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, tokenBody)
	})
	return mux
}

// knownMachine reports whether the reference treats id as an existing
// machine: any 40 hexadecimal digits except unknownMachineID, so that a
// benchmark can spread its POSTs over many machines.
func knownMachine(id string) bool {
	if len(id) != 40 || id == unknownMachineID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
