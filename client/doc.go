// Package client is the reference Go client of the Microsoft Defender for
// Endpoint live response API: it runs live response commands (RunScript,
// GetFile, PutFile) on a machine, waits for them, downloads their results,
// manages the live response library and cancels actions, and it does so
// the way a production client must, against the real service or the
// emulator in this module.
//
// It is written to be read: it is the project's answer to "how should I
// write my client?". It uses the standard library only.
//
//	c, err := client.New(client.Config{
//		APIURL:       "https://api.securitycenter.microsoft.com",
//		TenantID:     tenant,
//		ClientID:     id,
//		ClientSecret: secret,
//	})
//	res, err := c.RunScript(ctx, "ws-finance-01.contoso.local", "Get-Processes.ps1", "")
//	var se *client.ScriptError
//	switch {
//	case errors.As(err, &se): // the script ran and exited non-zero
//	case errors.Is(err, client.ErrTimedOut): // cut at the 10-minute limit
//	case err != nil:
//	}
//	fmt.Print(res.Output)
//
// # Policies
//
// Every HTTP call goes through one loop that applies these rules:
//
//   - Token: client credentials on Config.TokenURL (or a user's sign-in:
//     the password grant, or the device code flow, then the refresh
//     token; see Config.Username and Config.DeviceCode), cached and reused until
//     shortly before it expires (the margin is the smaller of 5 minutes
//     and half its lifetime). A 401 from the API discards the token, fetches
//     a new one and repeats the call, once per call.
//   - 429 Too Many Requests: wait Retry-After (seconds or an HTTP date) plus
//     a jitter of up to 500 ms, and repeat; at most 10 times per call.
//   - 5xx and network errors: repeat with exponential backoff and jitter
//     (1 s, 2 s, 4 s, 8 s, 15 s, 15 s, each less up to a quarter at random),
//     never sooner than a Retry-After the answer gave; at most 6 retries
//     per call, so an outage fails the call within 45 s.
//   - Any other 4xx is not repeated: it becomes an *APIError.
//
// On top of that, the live response operations:
//
//   - Submit answers 400 ActiveRequestAlreadyExists (the machine is busy
//     with another session) by waiting 10 s and submitting again, at most 3
//     times, and then returns the *APIError. It never resubmits after the
//     service accepted an action.
//   - Wait polls the action every Config.PollInterval (2 s by default)
//     until it is final: Succeeded, Failed, Cancelled or TimeOut. A 404 for
//     an action submitted less than 30 s ago is read as the service's
//     eventual consistency and polled again.
//   - Result downloads fetch a link (GetLiveResponseResultDownloadLink),
//     then the blob without the bearer token; a 403 from the blob (the
//     link expired) fetches a new link, at most 3 times.
//
// All waiting is done in wall time and ends when the context is done.
// The package reads the time package's clock directly, not the emulator's:
// it is a client of the service, standard library only, and measures what
// any client measures (Retry-After, a token's lifetime, a device code's
// interval) in its own wall time.
//
// # Errors
//
// An answer of the service that is an error is an *APIError with the HTTP
// status and the service's error code and message; match on Code. An action
// that ended other than Succeeded is an *ActionError (errors.Is matches
// ErrActionFailed, ErrTimedOut or ErrCancelled), which holds the final
// action and so every failed command's errors. A script that ran and exited
// with a non-zero code is a *ScriptError holding its result.
package client
