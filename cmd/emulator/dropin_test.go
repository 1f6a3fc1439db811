package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/servicehosts"
)

// The default fixture's first tenant, its first app and a Windows machine
// with a script whose output is known.
const (
	dropInTenant  = "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"
	dropInClient  = "0120a4f9-196a-4f9e-b9f5-23f31f914da7"
	dropInSecret  = "emulator-secret"
	dropInMachine = "82fb3b669b460cf8436780882296d90371d68ad6"
	dropInScript  = "Get-Processes.ps1"
)

// TestRealClientProcess is the body of an unmodified client when the test
// binary runs as one (MDE_DROPIN_CLIENT=1): it knows only the base URLs it
// is given (the real host names, in the proxy mode) and uses what Go
// programs use by default: http.DefaultClient, which takes its proxy from
// HTTPS_PROXY and trusts the system roots, which SSL_CERT_FILE replaces.
func TestRealClientProcess(t *testing.T) {
	if os.Getenv("MDE_DROPIN_CLIENT") != "1" {
		t.Skip("run by TestDropIn* as an unmodified client's process")
	}
	out, err := realClientRoundTrip(os.Getenv("MDE_LOGIN"), os.Getenv("MDE_API"))
	if err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(3)
	}
	fmt.Println(out)
}

// realClientRoundTrip does a whole RunScript round trip the way a client
// does: a token at the identity platform, the submit and the polls at the
// API, the download of the result from the link's host.
func realClientRoundTrip(login, api string) (string, error) {
	c := http.DefaultClient
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {dropInClient}, "client_secret": {dropInSecret},
		"scope": {"https://api.securitycenter.microsoft.com/.default"},
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := do(c, "POST", login+"/"+dropInTenant+"/oauth2/v2.0/token", "", "application/x-www-form-urlencoded", form.Encode(), &tok); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	var action struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	body := `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"` + dropInScript + `"}]}],"Comment":"drop-in"}`
	if err := do(c, "POST", api+"/api/machines/"+dropInMachine+"/runliveresponse", tok.AccessToken, "application/json", body, &action); err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	for deadline := time.Now().Add(20 * time.Second); action.Status != "Succeeded"; {
		if action.Status == "Failed" || action.Status == "Cancelled" || action.Status == "TimeOut" || time.Now().After(deadline) {
			return "", fmt.Errorf("action %s is %s", action.ID, action.Status)
		}
		time.Sleep(100 * time.Millisecond)
		if err := do(c, "GET", api+"/api/machineactions/"+action.ID, tok.AccessToken, "", "", &action); err != nil {
			return "", fmt.Errorf("poll: %w", err)
		}
	}
	var link struct {
		Value string `json:"value"`
	}
	if err := do(c, "GET", api+"/api/machineactions/"+action.ID+"/GetLiveResponseResultDownloadLink(index=0)", tok.AccessToken, "", "", &link); err != nil {
		return "", fmt.Errorf("link: %w", err)
	}
	var result struct {
		ScriptName string `json:"script_name"`
		ExitCode   int    `json:"exit_code"`
	}
	if err := do(c, "GET", link.Value, "", "", "", &result); err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	u, _ := url.Parse(link.Value)
	return fmt.Sprintf("ok status=%s link-host=%s script=%s exit=%d", action.Status, u.Host, result.ScriptName, result.ExitCode), nil
}

func do(c *http.Client, method, u, token, contentType, body string, v any) error {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, u, res.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// runRealClient runs the test binary as an unmodified client with env.
func runRealClient(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealClientProcess$", "-test.count=1")
	cmd.Env = append(cleanProxyEnv(), append([]string{"MDE_DROPIN_CLIENT=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the client failed: %v\n%s", err, out)
	}
	return string(out)
}

// cleanProxyEnv is the environment without proxy settings and CA paths
// the machine running the tests may have.
func cleanProxyEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// An unmodified Go client that knows only the real host names reaches the
// emulator through the proxy mode with HTTPS_PROXY and SSL_CERT_FILE, and
// does the whole round trip; the result link points at the blob host.
func TestDropInGoClientThroughTheProxy(t *testing.T) {
	t.Parallel()
	caDir := t.TempDir()
	_, base := startRun(t, "--addr", "127.0.0.1:0", "--time-scale", "100", "--ca-dir", caDir)
	out := runRealClient(t,
		"HTTPS_PROXY="+base, "SSL_CERT_FILE="+filepath.Join(caDir, "ca.pem"),
		"MDE_LOGIN=https://login.microsoftonline.com", "MDE_API=https://api.securitycenter.microsoft.com")
	want := "ok status=Succeeded link-host=" + servicehosts.BlobHost + " script=" + dropInScript + " exit=0"
	if !strings.Contains(out, want) {
		t.Errorf("client output: %s\nwant %q", out, want)
	}
}

// The same client over --tls directly, with the emulator's own address.
func TestDropInGoClientOverTLS(t *testing.T) {
	t.Parallel()
	caDir := t.TempDir()
	banner, base := startRun(t, "--addr", "127.0.0.1:0", "--time-scale", "100", "--tls", "--ca-dir", caDir)
	if !strings.HasPrefix(base, "https://127.0.0.1:") || !strings.Contains(banner, filepath.Join(caDir, "ca.pem")) {
		t.Fatalf("banner: %s", banner)
	}
	u, _ := url.Parse(base)
	out := runRealClient(t, "SSL_CERT_FILE="+filepath.Join(caDir, "ca.pem"), "MDE_LOGIN="+base, "MDE_API="+base)
	want := "ok status=Succeeded link-host=" + u.Host + " script=" + dropInScript + " exit=0"
	if !strings.Contains(out, want) {
		t.Errorf("client output: %s\nwant %q", out, want)
	}
}

// curl does the round trip with --proxy and --cacert, knowing only the real
// host names; then over --tls with the real host names sent to the
// emulator (--connect-to), as /etc/hosts and a port forward would.
func TestDropInCurl(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	caDir := t.TempDir()
	ca := filepath.Join(caDir, "ca.pem")
	_, proxyBase := startRun(t, "--addr", "127.0.0.1:0", "--time-scale", "100", "--ca-dir", caDir)
	got := curlRoundTrip(t, []string{"--proxy", proxyBase, "--cacert", ca})
	if want := "https://" + servicehosts.BlobHost + "/"; !strings.HasPrefix(got, want) {
		t.Errorf("through the proxy, the link is %s, want it at %s", got, want)
	}

	_, tlsBase := startRun(t, "--addr", "127.0.0.1:0", "--time-scale", "100", "--tls", "--ca-dir", caDir)
	port := tlsBase[strings.LastIndex(tlsBase, ":")+1:]
	var resolve []string
	for _, h := range []string{"login.microsoftonline.com", "api.securitycenter.microsoft.com", servicehosts.BlobHost} {
		resolve = append(resolve, "--connect-to", h+":443:127.0.0.1:"+port)
	}
	got = curlRoundTrip(t, append(resolve, "--cacert", ca))
	if want := "https://" + servicehosts.BlobHost + "/"; !strings.HasPrefix(got, want) {
		t.Errorf("over --tls under the real names, the link is %s, want it at %s", got, want)
	}
}

// curlRoundTrip does the RunScript round trip with curl and the given
// options, at the real host names, and returns the result link.
func curlRoundTrip(t *testing.T, opts []string) string {
	t.Helper()
	curl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("curl", append(append([]string{"-sS", "--fail-with-body", "--max-time", "10"}, opts...), args...)...)
		cmd.Env = cleanProxyEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	field := func(body, name string) string {
		m := regexp.MustCompile(`"` + name + `":"([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in %s", name, body)
		}
		return m[1]
	}
	token := field(curl("-X", "POST", "https://login.microsoftonline.com/"+dropInTenant+"/oauth2/v2.0/token",
		"-d", "grant_type=client_credentials", "-d", "client_id="+dropInClient, "-d", "client_secret="+dropInSecret,
		"--data-urlencode", "scope=https://api.securitycenter.microsoft.com/.default"), "access_token")
	auth := "Authorization: Bearer " + token
	api := "https://api.securitycenter.microsoft.com/api"
	id := field(curl("-X", "POST", api+"/machines/"+dropInMachine+"/runliveresponse", "-H", auth, "-H", "Content-Type: application/json",
		"-d", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"`+dropInScript+`"}]}],"Comment":"curl"}`), "id")
	var status string
	for i := 0; i < 100 && status != "Succeeded"; i++ {
		time.Sleep(100 * time.Millisecond)
		status = field(curl(api+"/machineactions/"+id, "-H", auth), "status")
	}
	if status != "Succeeded" {
		t.Fatalf("the action is %s", status)
	}
	link := field(curl(api+"/machineactions/"+id+"/GetLiveResponseResultDownloadLink(index=0)", "-H", auth, "-g"), "value")
	if got := field(curl(link), "script_name"); got != dropInScript {
		t.Errorf("downloaded result of %s", got)
	}
	return link
}
