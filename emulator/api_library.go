package emulator

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/libname"
	"github.com/mdelive/mde-emulator/internal/state"
)

// listLibraryFiles serves GET /api/libraryfiles.
func (s *Server) listLibraryFiles(c echo.Context) error {
	if err := caller(c).RequireLibraryView(); err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, collection[state.LibraryFileView]{
		ODataContext: odataContext(c, "LibraryFiles"),
		Value:        s.tenant(c).Library().List(),
	})
}

// maxUploadBody bounds a library upload request: the 20 MB file plus the
// form around it. A larger body is refused with 413 (state.FileTooLarge).
const maxUploadBody = state.MaxLibraryFileSize + 1<<20

// maxFormField bounds each form field of an upload other than the file
// (Description, ParametersDescription, ...): 64 KiB. A longer one is
// refused with 400 InvalidInput, never cut silently.
const maxFormField = 64 << 10

// uploadLibraryFile serves POST /api/libraryfiles (multipart/form-data with
// file or File, Description, ParametersDescription, HasParameters and
// OverrideIfExists).
func (s *Server) uploadLibraryFile(c echo.Context) error {
	if err := caller(c).RequireLibraryManage(); err != nil {
		return err
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: expected multipart/form-data: %v", err)
	}
	u := state.Upload{CreatedBy: caller(c).Requestor()}
	var gotFile bool
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return uploadReadError(err)
		}
		name := part.FormName()
		switch strings.ToLower(name) {
		case "file":
			u.FileName = fileNameOf(part)
			u.Content, err = io.ReadAll(io.LimitReader(part, state.MaxLibraryFileSize+1))
			if err != nil {
				return uploadReadError(err)
			}
			gotFile = true
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return uploadReadError(err)
		}
		if len(b) > maxFormField {
			return apierr.New(apierr.InvalidInput, "Invalid input: the form field %s is longer than %d bytes (64 KiB), the most the emulator reads.", libname.Quote(name), maxFormField)
		}
		v := string(b)
		switch strings.ToLower(name) {
		case "description":
			u.Description = v
		case "parametersdescription":
			u.ParametersDescription = v
		case "hasparameters":
			if u.HasParameters, err = parseFormBool(name, v); err != nil {
				return err
			}
		case "overrideifexists":
			if u.OverrideIfExists, err = parseFormBool(name, v); err != nil {
				return err
			}
		}
	}
	if !gotFile {
		return apierr.New(apierr.MissingRequiredParameter, "Parameter File is missing.")
	}
	if s.rec != nil {
		return s.libraryPutRecorded(c, u)
	}
	v, err := s.tenant(c).Library().Put(u, s.clock.Now())
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, v)
}

// fileNameOf returns the file name a multipart part carries (filename,
// or filename* as RFC 2231 encodes it), percent-decoded once. The name is
// taken whole, not cut to its base as Part.FileName does: the library's
// rules refuse a path.
func fileNameOf(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return libname.Decode(params["filename"])
}

func parseFormBool(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, apierr.New(apierr.InvalidRequestBody, "Invalid request body: %s must be true or false, not %q.", name, v)
	}
	return b, nil
}

func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return state.FileTooLarge("")
	}
	return apierr.New(apierr.InvalidRequestBody, "Invalid request body: %v", err)
}

// deleteLibraryFile serves DELETE /api/libraryfiles/{fileName}. The name
// is percent-decoded ("Get%2DProcesses.ps1"), as echo leaves it encoded.
func (s *Server) deleteLibraryFile(c echo.Context) error {
	if err := caller(c).RequireLibraryManage(); err != nil {
		return err
	}
	if s.rec != nil {
		return s.libraryDeleteRecorded(c, libname.Decode(c.Param("fileName")))
	}
	if err := s.tenant(c).Library().Delete(libname.Decode(c.Param("fileName"))); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
