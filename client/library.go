package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"strconv"
)

// UploadLibraryFile adds a file to the live response library and returns
// it as the library now holds it.
func (c *Client) UploadLibraryFile(ctx context.Context, up LibraryUpload) (*LibraryFile, error) {
	if up.FileName == "" {
		return nil, errors.New("client: UploadLibraryFile: FileName is required")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", up.FileName)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(up.Content); err != nil {
		return nil, err
	}
	fields := [][2]string{
		{"Description", up.Description},
		{"HasParameters", strconv.FormatBool(up.HasParameters)},
		{"OverrideIfExists", strconv.FormatBool(up.Override)},
	}
	if up.ParametersDescription != "" {
		fields = append(fields, [2]string{"ParametersDescription", up.ParametersDescription})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	cl := &call{
		method: "POST", url: c.api("/api/libraryfiles"),
		body: buf.Bytes(), contentType: mw.FormDataContentType(), auth: true,
	}
	body, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	var f LibraryFile
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("POST %s: the answer is not a library file: %w", cl.url, err)
	}
	return &f, nil
}
