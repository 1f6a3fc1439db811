package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdelive/mde-emulator/client"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
)

// Run a library script on a machine and print its output, against an
// emulator whose clock runs 60 times faster than the wall clock.
func Example() {
	srv, err := emulatortest.New(emulatortest.WithRealClock(60))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	c, err := client.New(client.Config{
		APIURL:       srv.URL,
		TokenURL:     srv.TokenURL(),
		TenantID:     srv.TenantID,
		ClientID:     srv.ClientID,
		ClientSecret: srv.ClientSecret,
		HTTPClient:   srv.Client(),
		PollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	res, err := c.RunScript(ctx, "ws-finance-01.contoso.local", "Get-Processes.ps1", "")
	var se *client.ScriptError
	switch {
	case errors.As(err, &se):
		fmt.Println("the script exited with", se.Result.ExitCode)
	case errors.Is(err, client.ErrTimedOut):
		fmt.Println("the script ran too long")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(res.ScriptName, "exited with", res.ExitCode)
	}
	// Output: Get-Processes.ps1 exited with 0
}
