package gateway

import (
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// v1Route is one google.api.http binding of the /v1 API: an HTTP method and its path template,
// split into segments ("{subject}" is a variable) and the custom verb after the last ":".
type v1Route struct {
	fullMethod string // the gRPC method, "/schemagate.v1.ValidationService/Validate"
	method     string
	segments   []string
	verb       string
}

// v1Routes reads the /v1 routes from the google.api.http annotations of the services that
// newHTTPHandler registers, the same annotations grpc-gateway's generated handlers come from.
func v1Routes() []v1Route {
	var routes []v1Route
	for _, f := range []protoreflect.FileDescriptor{pb.File_schemagate_v1_registry_proto,
		pb.File_schemagate_v1_validation_proto, pb.File_schemagate_v1_governance_proto} {
		for i := range f.Services().Len() {
			service := f.Services().Get(i)
			for j := range service.Methods().Len() {
				m := service.Methods().Get(j)
				rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					if route, ok := newV1Route(r); ok {
						route.fullMethod = "/" + string(service.FullName()) + "/" + string(m.Name())
						routes = append(routes, route)
					}
				}
			}
		}
	}
	return routes
}

// newV1Route turns one binding into a route.
func newV1Route(r *annotations.HttpRule) (v1Route, bool) {
	var method, template string
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		method, template = "GET", p.Get
	case *annotations.HttpRule_Post:
		method, template = "POST", p.Post
	case *annotations.HttpRule_Put:
		method, template = "PUT", p.Put
	case *annotations.HttpRule_Delete:
		method, template = "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		method, template = "PATCH", p.Patch
	default:
		return v1Route{}, false
	}
	segments := strings.Split(strings.TrimPrefix(template, "/"), "/")
	last := segments[len(segments)-1]
	var verb string
	if i := strings.LastIndex(last, ":"); i >= 0 && !strings.HasSuffix(last, "}") {
		segments[len(segments)-1], verb = last[:i], last[i+1:]
	}
	return v1Route{method: method, segments: segments, verb: verb}, true
}

// matches reports whether the escaped request path matches the route the way grpc-gateway
// matches it in UnescapingModeAllExceptReserved: split on "/" only (so %2F stays inside a
// segment), literal segments equal, a variable any segment, and a custom verb split off the
// last segment. A route without a verb takes the last segment whole, verb included, as
// grpc-gateway does. Every template of the API has single-segment variables only
// (TestV1TemplatesAreSimple), so no "**" handling is needed.
func (rt v1Route) matches(escapedPath string) bool {
	components := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(components) != len(rt.segments) {
		return false
	}
	if rt.verb != "" {
		last, ok := strings.CutSuffix(components[len(components)-1], ":"+rt.verb)
		if !ok || last == "" {
			return false
		}
		components[len(components)-1] = last
	}
	for i, seg := range rt.segments {
		if !strings.HasPrefix(seg, "{") && seg != components[i] {
			return false
		}
	}
	return true
}

// allowedMethods lists, sorted, the methods of the routes that match escapedPath: the Allow
// header of a 405.
func allowedMethods(routes []v1Route, escapedPath string) []string {
	var out []string
	for _, rt := range routes {
		if rt.matches(escapedPath) && !slices.Contains(out, rt.method) {
			out = append(out, rt.method)
		}
	}
	slices.Sort(out)
	return out
}
