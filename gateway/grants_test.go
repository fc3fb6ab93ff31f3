package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// grantKind is how a call names what it acts on, and so how subject grants decide it.
type grantKind int

const (
	bySubject        grantKind = iota + 1 // the request's subject (a path's {subject})
	bySchemaID                            // a schema ID: a granted subject must use it
	byPromotion                           // a promotion ID: its subject must be granted
	byBatchItem                           // every item of a batch
	byStreamItem                          // each message of a stream
	listing                               // answered to all, filtered (TestListingsShowGrantedSubjectsOnly)
	noSubject                             // about no subject: answered to all
	unrestrictedOnly                      // about every subject: only principals without grants
)

// grantKinds is the subject-grant rule of DESIGN.md and the README for every gRPC method,
// written out on its own (not derived from methodGrants), so a rule that is wrong for a method
// fails TestEveryMethodWithEveryRoleAndGrant. The /v1 routes take their gRPC method's row.
var grantKinds = map[string]grantKind{
	pb.RegistryService_RegisterSchema_FullMethodName:       bySubject,
	pb.RegistryService_GetSchema_FullMethodName:            bySchemaID,
	pb.RegistryService_GetSubjectVersion_FullMethodName:    bySubject,
	pb.RegistryService_ListSubjects_FullMethodName:         listing,
	pb.RegistryService_ListVersions_FullMethodName:         bySubject,
	pb.RegistryService_CheckCompatibility_FullMethodName:   bySubject,
	pb.RegistryService_DeleteSubject_FullMethodName:        bySubject,
	pb.RegistryService_DeleteSubjectVersion_FullMethodName: bySubject,

	pb.ValidationService_Validate_FullMethodName:       bySubject,
	pb.ValidationService_ValidateBatch_FullMethodName:  byBatchItem,
	pb.ValidationService_ValidateStream_FullMethodName: byStreamItem,
	pb.ValidationService_GetDriftReport_FullMethodName: bySubject,
	pb.ValidationService_InjectDrill_FullMethodName:    bySubject,

	pb.GovernanceService_GetSubjectStatus_FullMethodName:      bySubject,
	pb.GovernanceService_GetSubjectEvidence_FullMethodName:    bySubject,
	pb.GovernanceService_ListSubjectStatuses_FullMethodName:   listing,
	pb.GovernanceService_RequestPromotion_FullMethodName:      bySubject,
	pb.GovernanceService_ApprovePromotion_FullMethodName:      byPromotion,
	pb.GovernanceService_RejectPromotion_FullMethodName:       byPromotion,
	pb.GovernanceService_Rollback_FullMethodName:              bySubject,
	pb.GovernanceService_SetValidationMode_FullMethodName:     bySubject,
	pb.GovernanceService_ListAuditEntries_FullMethodName:      listing,
	pb.GovernanceService_VerifyAuditChain_FullMethodName:      noSubject,
	pb.GovernanceService_GetGovernanceDocument_FullMethodName: unrestrictedOnly,
	pb.GovernanceService_SetSubjectOwner_FullMethodName:       bySubject,
	pb.GovernanceService_ListSubjectOwners_FullMethodName:     listing,
}

// confluentGrantKinds covers every route of confluent.Routes, keyed like confluentRouteRoles.
var confluentGrantKinds = map[string]grantKind{
	"GET /{$}":                                                  noSubject,
	"GET /schemas":                                              listing,
	"GET /schemas/types":                                        noSubject,
	"GET /schemas/ids/{id}":                                     bySchemaID,
	"GET /schemas/ids/{id}/schema":                              bySchemaID,
	"GET /schemas/ids/{id}/subjects":                            bySchemaID, // and filtered
	"GET /schemas/ids/{id}/versions":                            bySchemaID, // and filtered
	"GET /subjects":                                             listing,
	"POST /subjects/{subject}":                                  bySubject,
	"DELETE /subjects/{subject}":                                bySubject,
	"GET /subjects/{subject}/versions":                          bySubject,
	"POST /subjects/{subject}/versions":                         bySubject,
	"GET /subjects/{subject}/versions/{version}":                bySubject,
	"DELETE /subjects/{subject}/versions/{version}":             bySubject,
	"GET /subjects/{subject}/versions/{version}/schema":         bySubject,
	"GET /subjects/{subject}/versions/{version}/referencedby":   bySubject,
	"POST /compatibility/subjects/{subject}/versions":           bySubject,
	"POST /compatibility/subjects/{subject}/versions/{version}": bySubject,
	"GET /config":                                               noSubject,
	"PUT /config":                                               unrestrictedOnly,
	"DELETE /config":                                            unrestrictedOnly,
	"GET /config/{subject}":                                     bySubject,
	"PUT /config/{subject}":                                     bySubject,
	"DELETE /config/{subject}":                                  bySubject,
	"GET /mode":                                                 noSubject,
	"PUT /mode":                                                 unrestrictedOnly,
	"DELETE /mode":                                              unrestrictedOnly,
	"GET /mode/{subject}":                                       bySubject,
	"PUT /mode/{subject}":                                       bySubject,
	"DELETE /mode/{subject}":                                    bySubject,
	"GET /contexts":                                             noSubject,
	"GET /v1/metadata/id":                                       noSubject,
	"GET /v1/metadata/version":                                  noSubject,
}

// grantTarget is what one call of the walk acts on: a subject, a schema ID only that subject
// uses, and a pending promotion of it.
type grantTarget struct {
	subject   string
	schemaID  int32
	promotion string
}

// grantWorld is a gateway with one principal per role limited to `granted-*` (named and keyed
// "grant-ROLE"), an unrestricted admin "setup" and author "requester", and two subjects: granted-value and
// other-value, each with its own schema, owner and pending promotion, plus one schema both
// granted-shared and other-shared use.
type grantWorld struct {
	*testGateway
	granted, other grantTarget
	sharedID       int32
}

const grantSetupToken = "grant-setup"

func grantToken(r auth.Role) string { return "grant-" + string(r) }

func startGrantWorld(t *testing.T) *grantWorld {
	t.Helper()
	principals := []auth.PrincipalConfig{
		{Name: "setup", Roles: []string{"admin"}, TokenSHA256: secTokenHash(grantSetupToken)},
		{Name: "requester", Roles: []string{"author"}, TokenSHA256: secTokenHash("grant-requester")},
	}
	for _, r := range roleEveryone {
		principals = append(principals, auth.PrincipalConfig{Name: grantToken(r), Roles: []string{string(r)},
			TokenSHA256: secTokenHash(grantToken(r)), Subjects: []string{"granted-*"}})
	}
	tg := startGatewayWith(t, func(c *Config) {
		c.Auth.Principals = principals
		// Subjects are eligible for promotion once a valid payload is counted in a bucket after
		// their registration (the 1s bucket the registration falls in does not count).
		c.Governance.CleanWindow, c.Governance.MinValidations = time.Millisecond, 1
		c.Governance.EvidenceBucket, c.Governance.EvidenceFlushInterval = time.Second, 20*time.Millisecond
	})
	w := &grantWorld{testGateway: tg}
	ctx := func() context.Context { return withToken(grantSetupToken) } // each call its own deadline
	reg, gov, val := pb.NewRegistryServiceClient(tg.conn), pb.NewGovernanceServiceClient(tg.conn), pb.NewValidationServiceClient(tg.conn)
	register := func(subject, field string) int32 {
		resp, err := reg.RegisterSchema(ctx(), &pb.RegisterSchemaRequest{Subject: subject, SchemaType: pb.SchemaType_SCHEMA_TYPE_AVRO,
			Schema: fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":%q,"type":"string"}]}`, field)})
		if err != nil {
			t.Fatalf("register %s: %v", subject, err)
		}
		return resp.GetId()
	}
	w.granted = grantTarget{subject: "granted-value", schemaID: register("granted-value", "g")}
	w.other = grantTarget{subject: "other-value", schemaID: register("other-value", "o")}
	w.sharedID = register("granted-shared", "s")
	register("other-shared", "s")
	for _, target := range []*grantTarget{&w.granted, &w.other} {
		if _, err := gov.SetSubjectOwner(ctx(), &pb.SetSubjectOwnerRequest{Subject: target.subject, Team: "team-" + target.subject}); err != nil {
			t.Fatal(err)
		}
		field := strings.TrimSuffix(target.subject, "-value")[:1]
		payload, _ := structpb.NewValue(map[string]any{field: "x"})
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := val.Validate(ctx(), &pb.ValidateRequest{Subject: target.subject, Json: payload}); err != nil {
				t.Fatal(err)
			}
			st, err := gov.GetSubjectStatus(ctx(), &pb.GetSubjectStatusRequest{Subject: target.subject})
			if err != nil {
				t.Fatal(err)
			}
			if st.GetStatus().GetEligible() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not eligible for promotion after 10s: %v", target.subject, st.GetStatus().GetReasons())
			}
		}
		// Requested by another principal than setup, which may then approve (two-person rule).
		p, err := gov.RequestPromotion(withToken("grant-requester"), &pb.RequestPromotionRequest{Subject: target.subject, Ticket: "CHG-1", Reason: "walk"})
		if err != nil {
			t.Fatalf("request promotion of %s: %v", target.subject, err)
		}
		target.promotion = p.GetPromotion().GetId()
	}
	return w
}

// grantRequest builds the request of a method of kind for target.
func grantRequest(md protoreflect.MethodDescriptor, kind grantKind, target grantTarget) *dynamicpb.Message {
	req := dynamicpb.NewMessage(md.Input())
	set := func(m *dynamicpb.Message, field string, v protoreflect.Value) {
		m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(field)), v)
	}
	item := func(subject string) *dynamicpb.Message {
		m := dynamicpb.NewMessage((&pb.ValidateRequest{}).ProtoReflect().Descriptor())
		set(m, "subject", protoreflect.ValueOfString(subject))
		return m
	}
	switch kind {
	case bySubject:
		set(req, "subject", protoreflect.ValueOfString(target.subject))
	case bySchemaID:
		set(req, "id", protoreflect.ValueOfInt32(target.schemaID))
	case byPromotion:
		set(req, "promotion_id", protoreflect.ValueOfString(target.promotion))
	case byBatchItem:
		// A batch with a granted item and one of the target: one item outside the grants
		// refuses all of it.
		items := req.Mutable(req.Descriptor().Fields().ByName("requests")).List()
		items.Append(protoreflect.ValueOfMessage(item("granted-value")))
		items.Append(protoreflect.ValueOfMessage(item(target.subject)))
	case byStreamItem:
		set(req, "request", protoreflect.ValueOfMessage(item(target.subject)))
	}
	return req
}

// grantCallCode sends req to method with token and returns its status code; a stream item
// refused for its subject counts as PermissionDenied.
func grantCallCode(t *testing.T, conn *grpc.ClientConn, md protoreflect.MethodDescriptor, method, token string, req *dynamicpb.Message) codes.Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token), 10*time.Second)
	defer cancel()
	resp := dynamicpb.NewMessage(md.Output())
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return status.Code(conn.Invoke(ctx, method, req, resp))
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
	if err != nil {
		return status.Code(err)
	}
	if err := stream.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return status.Code(err)
	}
	_ = stream.CloseSend()
	if err := stream.RecvMsg(resp); err != nil {
		return status.Code(err)
	}
	if msg := resp.Get(md.Output().Fields().ByName("error")).String(); strings.Contains(msg, "is not granted subject") {
		return codes.PermissionDenied
	}
	return codes.OK
}

// grantWant is the outcome a principal of role with grants `granted-*` must get on a call of
// kind for target: refused (true) or let past authorization (false).
func grantWant(roles []auth.Role, role auth.Role, kind grantKind, granted bool) (refused bool) {
	switch {
	case !slices.Contains(roles, role), kind == unrestrictedOnly:
		return true
	case kind == listing, kind == noSubject:
		return false
	}
	return !granted
}

// TestEveryMethodWithEveryRoleAndGrant calls every gRPC method as a principal of each role
// limited to `granted-*`, once about a granted subject (or its schema ID, its promotion) and
// once about another, and as an unrestricted admin about the other: the role decides first
// (allowedRoles), then the grant (grantKinds). A method without a row fails the test.
func TestEveryMethodWithEveryRoleAndGrant(t *testing.T) {
	w := startGrantWorld(t)
	forEachMethod(func(md protoreflect.MethodDescriptor, method string) {
		kind, ok := grantKinds[method]
		roles, rolesOK := allowedRoles[method]
		if !ok || !rolesOK {
			t.Errorf("%s has no row in grantKinds or allowedRoles", method)
			return
		}
		for _, role := range roleEveryone {
			for _, target := range []grantTarget{w.granted, w.other} {
				got := grantCallCode(t, w.conn, md, method, grantToken(role), grantRequest(md, kind, target))
				refused := grantWant(roles, role, kind, target == w.granted)
				switch {
				case refused && got != codes.PermissionDenied:
					t.Errorf("%s as %s on %s = %s; want PermissionDenied", method, role, target.subject, got)
				case !refused && (got == codes.PermissionDenied || got == codes.Unauthenticated || got == codes.Unimplemented):
					t.Errorf("%s as %s on %s = %s; want it past authorization", method, role, target.subject, got)
				}
			}
		}
		if got := grantCallCode(t, w.conn, md, method, grantSetupToken, grantRequest(md, kind, w.other)); got == codes.PermissionDenied {
			t.Errorf("%s as the unrestricted admin on %s = %s; want it past authorization", method, w.other.subject, got)
		}
	})
}

// TestEveryRPCHasAGrantRule checks methodGrants against the API: every method has a rule, and
// a method whose rule is its request's subject has a subject field.
func TestEveryRPCHasAGrantRule(t *testing.T) {
	rules := methodGrants()
	forEachMethod(func(md protoreflect.MethodDescriptor, method string) {
		rule, ok := rules[method]
		switch {
		case !ok:
			t.Errorf("%s has no rule in methodGrants", method)
		case rule == grantSubject && md.Input().Fields().ByName("subject") == nil:
			t.Errorf("%s has the rule grantSubject but %s has no subject field", method, md.Input().FullName())
		case (md.IsStreamingClient() || md.IsStreamingServer()) && rule != grantHandler && rule != grantNone:
			t.Errorf("%s streams: its rule must be grantHandler or grantNone", method)
		}
	})
}

// fillGrantPattern turns a route pattern into a request path about target: {subject} is its
// subject, {id} its schema ID, {promotionId} its promotion, every other wildcard 1, and the root
// pattern "/{$}" is "/".
func fillGrantPattern(pattern string, target grantTarget) string {
	return routeWildcard.ReplaceAllStringFunc(pattern, func(wc string) string {
		switch wc {
		case "{$}":
			return ""
		case "{subject}":
			return target.subject
		case "{id}":
			return fmt.Sprint(target.schemaID)
		case "{promotionId}":
			return target.promotion
		default:
			return "1"
		}
	})
}

// TestEveryHTTPRouteWithEveryRoleAndGrant is TestEveryMethodWithEveryRoleAndGrant for every
// Confluent REST route (confluentGrantKinds) and every /v1 route (its gRPC method's row of
// grantKinds): 403 where the role or the grant refuses, past authorization otherwise.
func TestEveryHTTPRouteWithEveryRoleAndGrant(t *testing.T) {
	w := startGrantWorld(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "http://" + w.g.HTTPAddr()
	for _, key := range slices.Sorted(maps.Keys(confluentGrantKinds)) {
		if _, ok := confluentRouteRoles[key]; !ok {
			t.Errorf("confluentGrantKinds row %q matches no route of confluentRouteRoles", key)
		}
	}
	for _, r := range httpRoutes(t) {
		kind, ok := confluentGrantKinds[r.key]
		if r.rpc != "" {
			kind, ok = grantKinds[r.rpc]
		}
		if !ok {
			t.Errorf("route %q has no grant kind: add it to confluentGrantKinds (or its method to grantKinds)", r.key)
			continue
		}
		body := ""
		if r.verb == http.MethodPost || r.verb == http.MethodPut {
			body = "{}"
		}
		if kind == byBatchItem {
			body = `{"requests":[{"json":{}}]}` // the item takes the path's subject
		}
		for _, role := range roleEveryone {
			for _, target := range []grantTarget{w.granted, w.other} {
				path := fillGrantPattern(r.pattern, target)
				code, text, err := secSend(client, r.verb, base+path, "Bearer "+grantToken(role), body, nil)
				refused := grantWant(r.roles, role, kind, target == w.granted)
				switch {
				case err != nil:
					t.Errorf("%s %s: %v", r.verb, path, err)
				case refused && code != http.StatusForbidden:
					t.Errorf("%s %s as %s = %d %.200s; want 403", r.verb, path, role, code, text)
				case !refused && (code == http.StatusUnauthorized || code == http.StatusForbidden):
					t.Errorf("%s %s as %s = %d %.200s; want it past authorization", r.verb, path, role, code, text)
				}
			}
		}
	}
}

// TestListingsShowGrantedSubjectsOnly lists subjects, schemas, statuses, owners and audit
// entries as a producer limited to `granted-*`: only granted subjects appear (audit entries
// about no subject too), pages are cut after filtering, and the unrestricted admin sees all.
func TestListingsShowGrantedSubjectsOnly(t *testing.T) {
	w := startGrantWorld(t)
	producer, setup := withToken(grantToken(auth.RoleProducer)), withToken(grantSetupToken)
	reg, gov := pb.NewRegistryServiceClient(w.conn), pb.NewGovernanceServiceClient(w.conn)
	granted := []string{"granted-shared", "granted-value"}

	subjects, err := reg.ListSubjects(producer, &pb.ListSubjectsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := reg.ListSubjects(setup, &pb.ListSubjectsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	statuses, err := gov.ListSubjectStatuses(producer, &pb.ListSubjectStatusesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	owners, err := gov.ListSubjectOwners(producer, &pb.ListSubjectOwnersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var statusSubjects, ownerSubjects []string
	for _, st := range statuses.GetStatuses() {
		statusSubjects = append(statusSubjects, st.GetSubject())
	}
	for _, o := range owners.GetOwners() {
		ownerSubjects = append(ownerSubjects, o.GetSubject())
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"ListSubjects", subjects.GetSubjects(), granted},
		{"ListSubjects, unrestricted", all.GetSubjects(), []string{"granted-shared", "granted-value", "other-shared", "other-value"}},
		{"ListSubjectStatuses", statusSubjects, granted},
		{"ListSubjectOwners", ownerSubjects, []string{"granted-value"}},
		{"GET /subjects", restStrings(t, w, "/subjects"), granted},
		{"GET /subjects, second page of one", restStrings(t, w, "/subjects?offset=1&limit=1"), []string{"granted-value"}},
		{"GET /schemas/ids/{shared}/subjects", restStrings(t, w, fmt.Sprintf("/schemas/ids/%d/subjects", w.sharedID)), []string{"granted-shared"}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}

	var schemas []struct{ Subject string }
	if code, body := w.httpDo(t, "GET", "/schemas", "Bearer "+grantToken(auth.RoleProducer), ""); code != http.StatusOK || json.Unmarshal([]byte(body), &schemas) != nil {
		t.Fatalf("GET /schemas = %d %s", code, body)
	}
	for _, s := range schemas {
		if !strings.HasPrefix(s.Subject, "granted-") {
			t.Errorf("GET /schemas shows %s to a principal limited to granted-*", s.Subject)
		}
	}

	// The audit log, read one entry per page either way: every entry is about a granted subject
	// or none, and the pages hold what one large page holds, newest first reversed.
	whole, err := gov.ListAuditEntries(producer, &pb.ListAuditEntriesRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wholeSeqs []int64
	for _, e := range whole.GetEntries() {
		wholeSeqs = append(wholeSeqs, e.GetSequence())
	}
	for _, newestFirst := range []bool{false, true} {
		want := slices.Clone(wholeSeqs)
		if newestFirst {
			slices.Reverse(want)
		}
		var paged []int64
		for req := (&pb.ListAuditEntriesRequest{NewestFirst: newestFirst, PageSize: 1}); ; {
			page, err := gov.ListAuditEntries(producer, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.GetEntries() {
				if s := e.GetSubject(); s != "" && !strings.HasPrefix(s, "granted-") {
					t.Errorf("audit entry %d about %s shown to a principal limited to granted-*", e.GetSequence(), s)
				}
				paged = append(paged, e.GetSequence())
			}
			req.AfterSequence, req.BeforeSequence = page.GetNextAfterSequence(), page.GetNextBeforeSequence()
			if req.AfterSequence == 0 && req.BeforeSequence == 0 {
				break
			}
		}
		if diff := cmp.Diff(want, paged); diff != "" || len(paged) == 0 {
			t.Errorf("audit pages of one, newest first %v (-one page +pages of one):\n%s", newestFirst, diff)
		}
	}
	// Over HTTP, newest_first and page_size are query parameters.
	var newest struct{ Entries []struct{ Sequence string } }
	if code, body := w.httpDo(t, "GET", "/v1/audit?newest_first=true&page_size=1", "Bearer "+grantToken(auth.RoleProducer), ""); code != http.StatusOK ||
		json.Unmarshal([]byte(body), &newest) != nil || len(newest.Entries) != 1 || newest.Entries[0].Sequence != fmt.Sprint(wholeSeqs[len(wholeSeqs)-1]) {
		t.Errorf("GET /v1/audit?newest_first=true&page_size=1 = %d %s; want the newest visible entry, %d", code, body, wholeSeqs[len(wholeSeqs)-1])
	}
	if _, err := gov.ListAuditEntries(producer, &pb.ListAuditEntriesRequest{Subject: "other-value"}); status.Code(err) != codes.PermissionDenied ||
		!strings.Contains(status.Convert(err).Message(), `"other-value"`) {
		t.Errorf("ListAuditEntries(subject other-value) = %v; want PermissionDenied naming other-value", err)
	}
}

// restStrings GETs a Confluent path that answers a list of strings, as the granted producer.
func restStrings(t *testing.T, w *grantWorld, path string) []string {
	t.Helper()
	code, body := w.httpDo(t, "GET", path, "Bearer "+grantToken(auth.RoleProducer), "")
	var out []string
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil {
		t.Fatalf("GET %s = %d %s (%v)", path, code, body, err)
	}
	return out
}

// TestDeniedValidationIsNeverEvidence sends payloads about a subject outside the producer's
// grants one by one, in a batch next to a granted item and on a stream: each is refused naming
// the subject, nothing of a refused batch is validated, and no validation is counted.
func TestDeniedValidationIsNeverEvidence(t *testing.T) {
	w := startGrantWorld(t)
	producer := withToken(grantToken(auth.RoleProducer))
	val := pb.NewValidationServiceClient(w.conn)
	bad, _ := structpb.NewValue(map[string]any{"nope": 1}) // flagged on either subject, if validated
	counted := func(subject string) float64 {
		var n float64
		for _, outcome := range []string{"valid", "flagged", "rejected"} {
			n += w.counter(t, "schemagate_validations_total", map[string]string{"subject": subject, "outcome": outcome})
		}
		return n
	}
	before := map[string]float64{"granted-value": counted("granted-value"), "other-value": counted("other-value")}

	_, err := val.Validate(producer, &pb.ValidateRequest{Subject: "other-value", Json: bad})
	wantDenied := `principal "grant-producer" is not granted subject "other-value"`
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), wantDenied) {
		t.Errorf("Validate(other-value) = %v; want PermissionDenied %q", err, wantDenied)
	}
	_, err = val.ValidateBatch(producer, &pb.ValidateBatchRequest{Requests: []*pb.ValidateRequest{
		{Subject: "granted-value", Json: bad}, {Subject: "other-value", Json: bad}}})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), wantDenied) {
		t.Errorf("ValidateBatch(granted-value, other-value) = %v; want PermissionDenied %q", err, wantDenied)
	}
	stream, err := val.ValidateStream(producer)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.ValidateStreamRequest{RequestId: "1", Request: &pb.ValidateRequest{Subject: "other-value", Json: bad}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil || !strings.Contains(resp.GetError(), wantDenied) || resp.GetResponse() != nil {
		t.Errorf("stream item about other-value = %v, %v; want the error %q and no response", resp, err, wantDenied)
	}
	_ = stream.CloseSend()
	if code, body := w.httpDo(t, "POST", "/v1/subjects/other-value/validate", "Bearer "+grantToken(auth.RoleProducer), `{"json":{"nope":1}}`); code != http.StatusForbidden ||
		!strings.Contains(body, `is not granted subject \"other-value\"`) {
		t.Errorf("POST /v1/subjects/other-value/validate = %d %s; want 403 naming other-value", code, body)
	}

	after := map[string]float64{"granted-value": counted("granted-value"), "other-value": counted("other-value")}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("refused validations were counted (-before +after):\n%s", diff)
	}
}

// TestSchemaByIDNeedsAGrantedSubject reads schemas by ID as the granted producer: its own and
// one a granted subject shares are served, another subject's is 403 (40301 on the Confluent
// API) naming the ID, and an unknown ID stays 404.
func TestSchemaByIDNeedsAGrantedSubject(t *testing.T) {
	w := startGrantWorld(t)
	authz := "Bearer " + grantToken(auth.RoleProducer)
	for _, c := range []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{fmt.Sprintf("/schemas/ids/%d", w.granted.schemaID), http.StatusOK, `"schema"`},
		{fmt.Sprintf("/schemas/ids/%d", w.sharedID), http.StatusOK, `"schema"`},
		{fmt.Sprintf("/v1/schemas/%d", w.sharedID), http.StatusOK, `"schema"`},
		{fmt.Sprintf("/schemas/ids/%d", w.other.schemaID), http.StatusForbidden,
			fmt.Sprintf(`{"error_code":40301,"message":"principal \"grant-producer\" is granted no subject that uses schema %d (its subjects: [\"granted-*\"])"}`, w.other.schemaID)},
		{fmt.Sprintf("/v1/schemas/%d", w.other.schemaID), http.StatusForbidden, "is granted no subject that uses schema"},
		{"/schemas/ids/999", http.StatusNotFound, "40403"},
	} {
		if code, body := w.httpDo(t, "GET", c.path, authz, ""); code != c.wantCode || !strings.Contains(body, c.wantBody) {
			t.Errorf("GET %s = %d %s; want %d with %s", c.path, code, body, c.wantCode, c.wantBody)
		}
	}
}
