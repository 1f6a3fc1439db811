package emulator

import (
	"bytes"
	"encoding/json"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/odata"
	"github.com/mdelive/mde-emulator/internal/state"
	"github.com/mdelive/mde-emulator/openapi"
)

// runLiveResponse serves POST /api/machines/{id}/runliveresponse.
func (s *Server) runLiveResponse(c echo.Context) error {
	// The validator read and checked the body already; decode it with
	// encoding/json only when it did not.
	req, ok := submitRequest(c)
	if !ok {
		var decoded state.SubmitRequest // on the heap only on this path
		if err := decodeJSON(c, &decoded); err != nil {
			return err
		}
		req = decoded
	}
	if s.rec != nil {
		return s.submitRecorded(c, req)
	}
	v, err := s.tenant(c).Submit(caller(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	noteAction(c, v.ID)
	return s.writeAction(c, http.StatusCreated, &v)
}

// actionEntity is a machine action as the body of a response about one
// action: its @odata.context, then the action's properties.
type actionEntity struct {
	ODataContext string `json:"@odata.context"`
	*state.ActionView
}

// AppendJSON appends e as JSON, byte for byte what encoding/json writes
// for it with HTML escaping off (the action's own AppendJSON, which it
// hides, would leave the context out).
func (e actionEntity) AppendJSON(b []byte) []byte {
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, e.ODataContext)
	b = append(b, ',')
	n := len(b)
	b = e.ActionView.AppendJSON(b)
	return append(b[:n], b[n+1:]...) // the action's members, without its opening brace
}

// writeAction writes v as the body of a response about one action, the
// bytes actionEntity's AppendJSON writes, straight into a pooled buffer:
// neither v nor its entity is boxed or moved to the heap on the way.
func (s *Server) writeAction(c echo.Context, status int, v *state.ActionView) error {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	buf.Grow(2048)
	b := append(buf.AvailableBuffer(), `{"@odata.context":`...)
	b = appendODataContext(b, c, "MachineActions/$entity")
	b = append(b, ',')
	n := len(b)
	b = v.AppendJSON(b)
	b = append(b[:n], b[n+1:]...) // the action's members, without its opening brace
	setJSONContentType(c)
	return c.Blob(status, jsonContentType, b)
}

// appendODataContext appends odataContext(c, fragment) as a JSON string,
// the bytes appendJSONString writes, without making the string when no
// part of it needs escaping.
func appendODataContext(b []byte, c echo.Context, fragment string) []byte {
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if !jsonPlain(r.Host) || !jsonPlain(fragment) {
		return appendJSONString(b, odataContext(c, fragment))
	}
	b = append(b, '"')
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, r.Host...)
	b = append(b, "/api/$metadata#"...)
	b = append(b, fragment...)
	return append(b, '"')
}

// jsonPlain reports whether s is written as it is in a JSON string, the
// test appendJSONString makes: no control character, quote, backslash or
// non-ASCII byte.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validatedBody returns the request body as the OpenAPI validator decoded
// it, or nil.
func validatedBody(c echo.Context) any {
	v, _ := openapi.ValidatedBody(c.Request())
	return v
}

// maxJSONBody bounds the JSON bodies the API reads.
const maxJSONBody = 1 << 20

// decodeJSON reads the request's JSON body into v.
func decodeJSON(c echo.Context, v any) error {
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		if err == errBodyTooLarge {
			return apierr.New(apierr.RequestEntityTooLarge, "The request body is larger than %d bytes.", maxJSONBody)
		}
		return apierr.New(apierr.InvalidRequestBody, "Request body is incorrect: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apierr.New(apierr.InvalidRequestBody, "Request body is incorrect: %v", err)
	}
	return nil
}

// getMachineAction serves GET /api/machineactions/{id}.
func (s *Server) getMachineAction(c echo.Context) error {
	cl := caller(c)
	if err := cl.RequireViewData(); err != nil {
		return err
	}
	a, err := s.tenant(c).ActionFor(cl, c.Param("id"))
	if err != nil {
		return err
	}
	v := a.View()
	noteAction(c, v.ID) // the view's: an action's id is made as a string when read
	return s.writeAction(c, http.StatusOK, &v)
}

// actionSchema lists the properties of a machine action that $filter and
// $orderby accept.
var actionSchema = odata.NewSchema(
	odata.Field{Name: "id", Type: odata.String},
	odata.Field{Name: "status", Type: odata.String},
	odata.Field{Name: "machineId", Type: odata.String},
	odata.Field{Name: "type", Type: odata.String},
	odata.Field{Name: "requestor", Type: odata.String},
	odata.Field{Name: "creationDateTimeUtc", Type: odata.DateTime},
	odata.Field{Name: "lastUpdateDateTimeUtc", Type: odata.DateTime},
	odata.Field{Name: "computerDnsName", Type: odata.String},
)

// maxPageSize is the largest page of the list endpoints.
const maxPageSize = 10000

// collection is the body of a list response.
type collection[T any] struct {
	ODataContext string `json:"@odata.context"`
	Count        *int   `json:"@odata.count,omitempty"`
	NextLink     string `json:"@odata.nextLink,omitempty"`
	Value        []T    `json:"value"`
}

// listMachineActions serves GET /api/machineactions, newest first.
func (s *Server) listMachineActions(c echo.Context) error {
	q, err := odata.Parse(c.QueryParams(), actionSchema, odata.Options{MaxTop: maxPageSize})
	if err != nil {
		return odataError(err)
	}
	cl := caller(c)
	if err := cl.RequireViewData(); err != nil {
		return err
	}
	return writePageOf(s, c, q, actionRecords(actionsFor(s.tenant(c), cl, q)), "MachineActions",
		func(r *actionRecord) state.ActionView { return *r.view() })
}

// actionRecords yields the actions as records, read as they are asked for.
func actionRecords(actions iter.Seq[*state.Action]) iter.Seq[*actionRecord] {
	return func(yield func(*actionRecord) bool) {
		for a := range actions {
			if !yield(&actionRecord{a: a}) {
				return
			}
		}
	}
}

// actionRecord is an action of the list as an OData record: its snapshot
// (Action.View) is taken when it is on the page, and for no other action
// (the filter reads the fields it needs of the action itself). With the
// list read as it is paged (state.Tenant.ActionRefsFor, odata.ApplySeq),
// a page of an unfiltered list reads its own actions and one more: it
// took a snapshot of every kept action, 90 MB and 150 ms a request with
// 200,000 of them, whatever its $top (BenchmarkListByMachine/top-50).
type actionRecord struct {
	a *state.Action
	v *state.ActionView // nil: not taken yet
}

// view returns the action's snapshot, taken once.
func (r *actionRecord) view() *state.ActionView {
	if r.v == nil {
		v := r.a.View()
		r.v = &v
	}
	return r.v
}

// Field returns the value of an OData-filterable property: the
// snapshot's once taken, else the action's now (state.Action.Field), so
// that a filter passing over actions off the page takes no snapshot of
// them. An action that changes between the filter's reading and its
// snapshot on the page shows its newer state, as a list read a moment
// later would.
func (r *actionRecord) Field(name string) any {
	if r.v != nil {
		return r.v.Field(name)
	}
	return r.a.Field(name)
}

// actionsFor returns the caller's actions that q's filter may match,
// newest first: those of the machines a filter on machineId names (an
// index lookup, ActionRefsOnFor), else every one (ActionRefsFor). Apply
// still matches each of them against the whole filter.
func actionsFor(t *state.Tenant, cl state.Caller, q *odata.Query) iter.Seq[*state.Action] {
	if ids, ok := q.Equals("machineId"); ok {
		return slices.Values(t.ActionRefsOnFor(cl, ids))
	}
	return t.ActionRefsFor(cl)
}

// writePageOf filters, sorts and pages recs by q and writes the
// collection, with @odata.count and @odata.nextLink when they apply.
func writePageOf[R odata.Record, T any](s *Server, c echo.Context, q *odata.Query, recs iter.Seq[R], set string, conv func(R) T) error {
	page := odata.ApplySeq(q, recs)
	body := collection[T]{ODataContext: odataContext(c, set), Value: make([]T, len(page.Items))}
	for i, r := range page.Items {
		body.Value[i] = conv(r)
	}
	if q.Count() {
		n := page.Count
		body.Count = &n
	}
	if page.More {
		body.NextLink = baseURL(c) + c.Request().URL.Path + "?" + page.NextQuery(c.QueryParams())
	}
	return s.writeJSON(c, http.StatusOK, body)
}

func odataError(err error) error {
	return apierr.New(apierr.ODataError, "%s", err.Error())
}

// cancelRequest is the body of a cancel call.
type cancelRequest struct {
	Comment string `json:"Comment"`
}

// cancelMachineAction serves POST /api/machineactions/{id}/cancel.
func (s *Server) cancelMachineAction(c echo.Context) error {
	var req cancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	noteAction(c, c.Param("id"))
	if s.rec != nil {
		return s.cancelRecorded(c, c.Param("id"), req.Comment)
	}
	v, err := s.tenant(c).Cancel(caller(c), c.Param("id"), req.Comment)
	if err != nil {
		return err
	}
	return s.writeAction(c, http.StatusOK, &v)
}

// downloadLink is the body of GetLiveResponseResultDownloadLink.
type downloadLink struct {
	ODataContext string `json:"@odata.context"`
	Value        string `json:"value"`
}

// getLiveResponseResultDownloadLink serves GET
// /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index={n}).
func (s *Server) getLiveResponseResultDownloadLink(c echo.Context) error {
	m := downloadLinkSegment.FindStringSubmatch(c.Param("function"))
	if m == nil {
		return apierr.New(apierr.NotFound, "Resource %s wasn't found.", c.Request().URL.Path)
	}
	index, err := strconv.Atoi(m[1])
	if err != nil {
		return apierr.New(apierr.BadRequest, "Invalid index %s.", m[1])
	}
	noteCommand(c, c.Param("id"), index)
	cl := caller(c)
	if err := cl.RequireViewData(); err != nil {
		return err
	}
	if _, err := s.tenant(c).ActionFor(cl, c.Param("id")); err != nil {
		return err
	}
	link, err := s.links.link(s.tenant(c), c.Param("id"), index, blobBaseURL(c))
	if err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, downloadLink{ODataContext: odataContext(c, "Edm.String"), Value: link})
}
