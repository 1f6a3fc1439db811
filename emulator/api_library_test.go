package emulator_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/state"
)

// upload posts a multipart library upload with the file under fileField.
func (e *env) upload(fileField, name string, content []byte, fields map[string]string) resp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile(fileField, name)
	_, _ = fw.Write(content)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", testBase+"/api/libraryfiles", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.token)
	return e.send(req)
}

func TestLibraryUploadListDelete(t *testing.T) {
	e := newEnv(t)
	content := []byte("Get-Service | Format-Table\n")
	r := e.upload("file", "Get-Services.ps1", content, map[string]string{
		"Description": "Lists services", "ParametersDescription": "none", "HasParameters": "false", "OverrideIfExists": "false",
	})
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var f state.LibraryFileView
	r.decode(&f)
	sum := sha256.Sum256(content)
	if f.FileName != "Get-Services.ps1" || f.SHA256 != hex.EncodeToString(sum[:]) || f.CreatedBy != "SOAR Automation" ||
		f.Description == nil || *f.Description != "Lists services" || f.CreationTime.Time() != start {
		t.Errorf("uploaded entity: %s", r.body)
	}

	r = e.upload("File", "Get-Services.ps1", []byte("other"), nil)
	if r.status != 400 || !strings.Contains(r.errorMessage(), "already exists") {
		t.Errorf("duplicate without override: %d %s", r.status, r.body)
	}
	e.advance(time.Minute)
	r = e.upload("File", "Get-Services.ps1", []byte("other"), map[string]string{"OverrideIfExists": "True"})
	if r.status != 200 {
		t.Fatalf("override: %d %s", r.status, r.body)
	}
	r.decode(&f)
	if f.CreationTime.Time() != start || f.LastUpdatedTime.Time() != start.Add(time.Minute) {
		t.Errorf("override times: %s", r.body)
	}

	r = e.api("GET", "/api/libraryfiles", "")
	var list struct {
		Context string `json:"@odata.context"`
		Value   []state.LibraryFileView
	}
	r.decode(&list)
	found := false
	for _, lf := range list.Value {
		found = found || lf.FileName == "Get-Services.ps1"
	}
	if !found || !strings.HasSuffix(list.Context, "#LibraryFiles") {
		t.Errorf("list: %s", r.body)
	}

	if r := e.api("DELETE", "/api/libraryfiles/Get-Services.ps1", ""); r.status != 204 || len(r.body) != 0 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := e.api("DELETE", "/api/libraryfiles/Get-Services.ps1", ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("delete again: %d %s", r.status, r.body)
	}
}

func TestLibraryUploadRejects(t *testing.T) {
	e := newEnv(t)
	if r := e.upload("file", "bad name!.ps1", []byte("x"), nil); r.status != 400 || r.errorCode() != "InvalidInput" {
		t.Errorf("bad file name: %d %s", r.status, r.body)
	}
	big := bytes.Repeat([]byte("a"), 20<<20+1)
	if r := e.upload("file", "big.bin", big, nil); r.status != 413 || r.errorCode() != "RequestEntityTooLarge" ||
		!strings.Contains(r.errorMessage(), "larger than 20 MB (20,971,520 bytes)") {
		t.Errorf("file over 20 MB: %d %s", r.status, r.body)
	}
	// A body over the request limit is not read to its end; the answer
	// names the same limit.
	if r := e.upload("file", "bigger.bin", bytes.Repeat([]byte("a"), 22<<20), nil); r.status != 413 || r.errorCode() != "RequestEntityTooLarge" ||
		r.errorMessage() != "Invalid input: the file is larger than 20 MB (20,971,520 bytes), the largest library file the API accepts." {
		t.Errorf("file over the request limit: %d %s", r.status, r.body)
	}
	exact := bytes.Repeat([]byte("a"), 20<<20)
	if r := e.upload("file", "exact.bin", exact, nil); r.status != 200 {
		t.Errorf("file of exactly 20 MB: %d %s", r.status, r.body)
	}
	if r := e.upload("Description", "x", []byte("only a description"), nil); r.status != 400 || r.errorCode() != "MissingRequiredParameter" {
		t.Errorf("no file: %d %s", r.status, r.body)
	}
}

// An uploaded file, put on a machine and collected again, comes back with
// the same bytes.
func TestPutFileThenGetFileReturnsUploadedBytes(t *testing.T) {
	e := newEnv(t)
	content := []byte{0, 1, 2, 3, 0xff, 'M', 'Z'}
	if r := e.upload("file", "probe.bin", content, nil); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := e.submit(linuxMachine, `{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"probe.bin"}]},
	  {"type":"GetFile","params":[{"key":"Path","value":"/var/opt/microsoft/mdatp/response/probe.bin"}]}]}`)
	e.advance(time.Minute)
	if v := e.action(id); v.Status != "Succeeded" {
		t.Fatalf("action: %+v", v)
	}
	r := e.call("GET", strings.TrimPrefix(e.downloadLink(id, 1), testBase), "", "")
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, content) {
		t.Errorf("GetFile returned %x, want %x", got, content)
	}
}

// A full library refuses an upload with the service's 400 BadRequest
// naming the bound (state.MaxLibraryFiles); a delete makes room.
func TestLibraryUploadPastTheBound(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.Profile = "unlimited" })
	var have struct{ Value []struct{ FileName string } }
	e.api("GET", "/api/libraryfiles", "").decode(&have)
	for i := len(have.Value); i < state.MaxLibraryFiles; i++ {
		if r := e.upload("file", fmt.Sprintf("f%04d.ps1", i), []byte("x"), nil); r.status != 200 {
			t.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.upload("file", "one-more.ps1", []byte("x"), nil)
	if r.status != 400 || r.errorCode() != "BadRequest" || !strings.Contains(r.errorMessage(), fmt.Sprintf("holds %d files", state.MaxLibraryFiles)) {
		t.Errorf("upload past the bound: %d %s", r.status, r.body)
	}
	if r := e.api("DELETE", "/api/libraryfiles/f0999.ps1", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.upload("file", "one-more.ps1", []byte("x"), nil); r.status != 200 {
		t.Errorf("upload after a delete: %d %s", r.status, r.body)
	}
}
