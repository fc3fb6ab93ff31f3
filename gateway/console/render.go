package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// pageNames are the page templates; each is parsed with layout.html and parts.html.
var pageNames = []string{"signin", "subjects", "subject", "promotions", "audit", "governance", "error"}

// parsePages parses every page with the layout and the shared parts.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData is what every template receives.
type pageData struct {
	Title     string
	Page      string
	Principal auth.Principal
	SignedIn  bool
	CSRF      string
	Refresh   string // the htmx trigger of the live parts, "every 5s"
	Data      any
}

// Can reports whether the principal's roles hold perm: the page shows the control only then
// (the API decides anyway).
func (d pageData) Can(perm string) bool { return d.SignedIn && d.Principal.Can(auth.Permission(perm)) }

// Roles lists the principal's roles for display.
func (d pageData) Roles() string {
	roles := make([]string, len(d.Principal.Roles))
	for i, r := range d.Principal.Roles {
		roles[i] = string(r)
	}
	return strings.Join(roles, ", ")
}

// funcs are the template functions.
func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"static":     c.static.url,
		"subject":    func(s string) string { return "/ui/subjects/" + url.PathEscape(s) },
		"time":       formatTime,
		"dur":        formatSeconds,
		"mode":       modeName,
		"kind":       kindName,
		"query":      func(v url.Values) string { return v.Encode() },
		"pathEscape": url.PathEscape,
	}
}

// render executes the named template of v's page into w with status code. The page is
// rendered into a buffer first, so a template failure is a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, ss *session, code int, v view, name string) {
	d := pageData{Title: v.title, Page: v.page, Data: v.data, Refresh: fmt.Sprintf("every %s", c.refresh)}
	if ss != nil {
		d.Principal, d.SignedIn, d.CSRF = ss.principal, true, ss.csrf
	}
	var buf bytes.Buffer
	if err := c.pages[v.page].ExecuteTemplate(&buf, name, d); err != nil {
		c.log.ErrorContext(r.Context(), "console template failed", "page", v.page, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// errorView is what the error page shows.
type errorView struct {
	Status  int
	Message string
}

// renderError shows a refusal: the API's message with the HTTP status of its gRPC code (403 for
// a permission the principal lacks, 404, 409 for a failed precondition...), 403 for a CSRF
// failure, and a generic 500 for anything else (logged).
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	ev := errorView{Status: http.StatusInternalServerError, Message: "Something went wrong; the server log has the details."}
	if errors.Is(err, errCSRF) {
		ev = errorView{Status: http.StatusForbidden, Message: err.Error()}
	} else if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown && st.Code() != codes.Internal {
		ev = errorView{Status: runtime.HTTPStatusFromCode(st.Code()), Message: st.Message()}
	} else {
		c.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "error", err)
	}
	c.render(w, r, ss, ev.Status, view{page: "error", title: http.StatusText(ev.Status), data: ev}, "layout")
}

// formatTime shows a timestamp in UTC to the second; unset is "—".
func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "—"
	}
	return ts.AsTime().UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatSeconds shows a duration in hours and minutes, or in minutes and seconds under an hour
// (short clean windows, in drills and tests, would otherwise read "0m").
func formatSeconds(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// modeName is a validation mode as the configuration spells it.
func modeName(m pb.ValidationMode) string {
	switch m {
	case pb.ValidationMode_VALIDATION_MODE_CANARY:
		return "canary"
	case pb.ValidationMode_VALIDATION_MODE_STRICT:
		return "strict"
	}
	return "default"
}

// kindName is a drift kind as the metrics label it ("unknown_field").
func kindName(k pb.DriftKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "DRIFT_KIND_"))
}
