package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// Bearer tokens of the three principals the load runs as; the gateway holds their SHA-256.
const (
	tokenProducer = "load-producer-token" // validates, reads schemas and governance state
	tokenAuthor   = "load-author-token"   // registers schemas
	tokenAdmin    = "load-admin-token"    // sets up: strict mode is a break-glass override
)

// requestTimeout is a safety net: a request that hangs fails the test instead of the run.
const requestTimeout = 30 * time.Second

// clients are the load's connections to the gateway: one gRPC connection (HTTP/2, shared by
// every gRPC worker, as a client library would) and one HTTP client with a keep-alive pool.
type clients struct {
	conn     *grpc.ClientConn
	http     *http.Client
	httpBase string
}

// as returns ctx carrying token as the gRPC authorization metadata.
func (cl *clients) as(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// do sends one HTTP request as token and returns the status and body.
func (cl *clients) do(method, path, token, contentType, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, cl.httpBase+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// rpc runs one gRPC call as token with the safety-net deadline. Calls are not cancelled when
// the load stops: workers stop between requests, so no request fails because the run ended.
func rpc[T any](cl *clients, token string, call func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(cl.as(context.Background(), token), requestTimeout)
	defer cancel()
	return call(ctx)
}

// checkOutcome compares a validation response with the case's expected outcome.
func checkOutcome(c *validationCase, resp *pb.ValidateResponse) error {
	if resp.GetOutcome() != c.want {
		return fmt.Errorf("%s: outcome %s; want %s (%v)", c.name, resp.GetOutcome(), c.want, resp.GetFindings())
	}
	return nil
}

// checkBatch compares a batch's results, in order, with the cases sent: one result each, no
// error, the expected outcome.
func checkBatch(batch []*validationCase, results []*pb.ValidateBatchResult) error {
	if len(results) != len(batch) {
		return fmt.Errorf("%d results for %d requests", len(results), len(batch))
	}
	for i, r := range results {
		if r.GetError() != "" {
			return fmt.Errorf("%s: %s", batch[i].name, r.GetError())
		}
		if err := checkOutcome(batch[i], r.GetResponse()); err != nil {
			return err
		}
	}
	return nil
}

// load runs the workers; each loops until stop is closed, finishing the request in flight.
type load struct {
	cl     *clients
	corpus *corpus
	tally  *tally
	stop   <-chan struct{}
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// grpcUnary validates the cases one unary call at a time, starting at offset. A strict
// subject's rejection is InvalidArgument carrying the REJECTED result in the status details.
func (l *load) grpcUnary(offset int) {
	client := pb.NewValidationServiceClient(l.cl.conn)
	for i := offset; !l.stopped(); i++ {
		c := l.corpus.cases[i%len(l.corpus.cases)]
		resp, err := rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.ValidateResponse, error) { return client.Validate(ctx, c.req) })
		if c.want == pb.Outcome_OUTCOME_REJECTED {
			st := status.Convert(err)
			details := st.Details()
			if st.Code() != codes.InvalidArgument || len(details) != 1 {
				l.tally.fail(kindGRPCValidate, "%s: got %v, %v; want InvalidArgument with the result in the details", c.name, resp, err)
				continue
			}
			resp, _ = details[0].(*pb.ValidateResponse)
		} else if err != nil {
			l.tally.fail(kindGRPCValidate, "%s: %v", c.name, err)
			continue
		}
		if err := checkOutcome(c, resp); err != nil {
			l.tally.fail(kindGRPCValidate, "%v", err)
			continue
		}
		l.tally.ok(kindGRPCValidate, 1)
		l.tally.validated(c)
	}
}

// batchSize is the number of payloads in one ValidateBatch call.
const batchSize = 50

// grpcBatch validates batches of batchSize cases, every subject mixed in one call: a strict
// rejection is a REJECTED result in the batch, never an error.
func (l *load) grpcBatch() {
	client := pb.NewValidationServiceClient(l.cl.conn)
	for i := 0; !l.stopped(); i += batchSize {
		batch := make([]*validationCase, batchSize)
		req := &pb.ValidateBatchRequest{}
		for j := range batch {
			batch[j] = l.corpus.cases[(i+j)%len(l.corpus.cases)]
			req.Requests = append(req.Requests, batch[j].req)
		}
		resp, err := rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.ValidateBatchResponse, error) { return client.ValidateBatch(ctx, req) })
		if err == nil {
			err = checkBatch(batch, resp.GetResults())
		}
		if err != nil {
			l.tally.fail(kindGRPCBatch, "%v", err)
			continue
		}
		l.tally.ok(kindGRPCBatch, len(batch))
		for _, c := range batch {
			l.tally.validated(c)
		}
	}
}

// streamLength is how many messages one ValidateStream carries before the client closes it
// and opens another, so streams are set up and torn down throughout the run.
const streamLength = 100

// grpcStream validates the cases over bidirectional streams, one message in flight, each
// answer matched to its request ID.
func (l *load) grpcStream(offset int) {
	client := pb.NewValidationServiceClient(l.cl.conn)
	for i := offset; !l.stopped(); {
		sent, err := l.oneStream(client, &i)
		if err != nil {
			l.tally.fail(kindGRPCStream, "stream after %d messages: %v", sent, err)
		}
	}
}

// oneStream runs one stream of up to streamLength messages, advancing *next through the
// cases, and closes it cleanly; the error is about the stream itself, not one message. Each
// message gets requestTimeout to be answered, after which the stream is cancelled.
func (l *load) oneStream(client pb.ValidationServiceClient, next *int) (int, error) {
	ctx, cancel := context.WithCancel(l.cl.as(context.Background(), tokenProducer))
	defer cancel()
	safetyNet := time.AfterFunc(requestTimeout, cancel)
	defer safetyNet.Stop()
	stream, err := client.ValidateStream(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for ; sent < streamLength && !l.stopped(); sent++ {
		c := l.corpus.cases[*next%len(l.corpus.cases)]
		*next++
		id := fmt.Sprintf("m-%d", *next)
		if !safetyNet.Reset(requestTimeout) {
			return sent, fmt.Errorf("a message was not answered within %s", requestTimeout)
		}
		if err := stream.Send(&pb.ValidateStreamRequest{RequestId: id, Request: c.req}); err != nil {
			return sent, err
		}
		msg, err := stream.Recv()
		if err != nil {
			return sent, err
		}
		switch {
		case msg.GetRequestId() != id:
			l.tally.fail(kindGRPCStream, "%s: answer for request %q; want %q", c.name, msg.GetRequestId(), id)
		case msg.GetError() != "":
			l.tally.fail(kindGRPCStream, "%s: %s", c.name, msg.GetError())
		default:
			if err := checkOutcome(c, msg.GetResponse()); err != nil {
				l.tally.fail(kindGRPCStream, "%v", err)
				continue
			}
			l.tally.ok(kindGRPCStream, 1)
			l.tally.validated(c)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return sent, err
	}
	if m, err := stream.Recv(); !errors.Is(err, io.EOF) {
		return sent, fmt.Errorf("after CloseSend: %v, %v; want io.EOF", m, err)
	}
	return sent, nil
}

// httpValidate validates the cases over the HTTP/JSON API: 200 with the outcome, or 422 with
// the REJECTED result for a strict subject's drift. Every tenth call is a batch of one
// subject's cases.
func (l *load) httpValidate(offset int) {
	for i := offset; !l.stopped(); i++ {
		if i%10 == 0 {
			l.httpBatch(i)
			continue
		}
		c := l.corpus.cases[i%len(l.corpus.cases)]
		code, body, err := l.cl.do("POST", "/v1/subjects/"+c.subject+"/validate", tokenProducer, "application/json", c.httpBody)
		if err != nil {
			l.tally.fail(kindHTTPValidate, "%s: %v", c.name, err)
			continue
		}
		want := http.StatusOK
		if c.want == pb.Outcome_OUTCOME_REJECTED {
			want = http.StatusUnprocessableEntity
		}
		var resp pb.ValidateResponse
		if code != want {
			l.tally.fail(kindHTTPValidate, "%s: HTTP %d %s; want %d", c.name, code, body, want)
			continue
		}
		if err := protojson.Unmarshal(body, &resp); err != nil {
			l.tally.fail(kindHTTPValidate, "%s: body %s: %v", c.name, body, err)
			continue
		}
		if err := checkOutcome(c, &resp); err != nil {
			l.tally.fail(kindHTTPValidate, "%v", err)
			continue
		}
		l.tally.ok(kindHTTPValidate, 1)
		l.tally.validated(c)
	}
}

// httpBatch validates every case of one subject, repeated to batchSize/2 items, in one
// POST /v1/subjects/{s}/validate:batch.
func (l *load) httpBatch(i int) {
	subjects := l.corpus.subjects()
	subject := subjects[(i/10)%len(subjects)]
	cases := l.corpus.bySubj[subject]
	batch := make([]*validationCase, batchSize/2)
	var items []json.RawMessage
	for j := range batch {
		batch[j] = cases[j%len(cases)]
		items = append(items, json.RawMessage(batch[j].httpBody))
	}
	body, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		l.tally.fail(kindHTTPBatch, "%v", err)
		return
	}
	code, respBody, err := l.cl.do("POST", "/v1/subjects/"+subject+"/validate:batch", tokenProducer, "application/json", string(body))
	if err != nil || code != http.StatusOK {
		l.tally.fail(kindHTTPBatch, "%s: HTTP %d %s, %v; want 200", subject, code, respBody, err)
		return
	}
	var resp pb.ValidateBatchResponse
	if err := protojson.Unmarshal(respBody, &resp); err != nil {
		l.tally.fail(kindHTTPBatch, "%s: %v in %s", subject, err, respBody)
		return
	}
	if err := checkBatch(batch, resp.GetResults()); err != nil {
		l.tally.fail(kindHTTPBatch, "%s: %v", subject, err)
		return
	}
	l.tally.ok(kindHTTPBatch, len(batch))
	for _, c := range batch {
		l.tally.validated(c)
	}
}

// confluentContentType is what Confluent clients send.
const confluentContentType = "application/vnd.schemaregistry.v1+json"

// confluentReads runs the Confluent REST calls a producer's serializer makes: look up a schema's
// ID, fetch a schema by ID, check compatibility, read the latest version.
func (l *load) confluentReads() {
	ordersV2ID := l.corpus.ids[subjectOrders+"/2"]
	paymentsID := l.corpus.ids[subjectPayments+"/1"]
	eventsID := l.corpus.ids[subjectEvents+"/1"]
	lookupBody := schemaBody(ordersV2, "")
	compatBody := schemaBody(ordersV3, "")
	for i := 0; !l.stopped(); i++ {
		var kind string
		var err error
		switch i % 4 {
		case 0:
			kind = kindConfluentLookup
			var got struct{ ID, Version int32 }
			err = l.confluentJSON("POST", "/subjects/"+subjectOrders, lookupBody, &got)
			if err == nil && (got.ID != ordersV2ID || got.Version != 2) {
				err = fmt.Errorf("lookup of orders v2 = id %d version %d; want id %d version 2", got.ID, got.Version, ordersV2ID)
			}
		case 1:
			kind = kindConfluentByID
			var got struct{ Schema string }
			err = l.confluentJSON("GET", fmt.Sprintf("/schemas/ids/%d", paymentsID), "", &got)
			if err == nil && !strings.Contains(got.Schema, `"Payment"`) {
				err = fmt.Errorf("schema %d = %.80s; want the Payment record", paymentsID, got.Schema)
			}
		case 2:
			kind = kindConfluentCompat
			var got struct {
				IsCompatible bool `json:"is_compatible"`
			}
			err = l.confluentJSON("POST", "/compatibility/subjects/"+subjectOrders+"/versions/latest", compatBody, &got)
			if err == nil && !got.IsCompatible {
				err = errors.New("orders v3 (a field with a default added) reported incompatible")
			}
		case 3:
			kind = kindConfluentLatest
			var got struct{ ID, Version int32 }
			err = l.confluentJSON("GET", "/subjects/"+subjectEvents+"/versions/latest", "", &got)
			if err == nil && (got.ID != eventsID || got.Version != 1) {
				err = fmt.Errorf("latest events = id %d version %d; want id %d version 1", got.ID, got.Version, eventsID)
			}
		}
		if err != nil {
			l.tally.fail(kind, "%v", err)
			continue
		}
		l.tally.ok(kind, 0)
	}
}

// confluentJSON calls the Confluent REST API as the producer, expecting 200, and decodes the body.
func (l *load) confluentJSON(method, path, body string, out any) error {
	code, b, err := l.cl.do(method, path, tokenProducer, confluentContentType, body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, code, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %v in %s", method, path, err, b)
	}
	return nil
}

func schemaBody(schema, schemaType string) string {
	m := map[string]string{"schema": schema}
	if schemaType != "" {
		m["schemaType"] = schemaType
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Registration pacing. A registry sees few writes next to its validations; the registrations
// run at a steady rate so that a long soak adds subjects and versions at a realistic pace
// instead of making the store (and the governance tick over every subject) the thing measured.
const (
	registerEvery      = 100 * time.Millisecond
	versionsPerSubject = 20 // versions of one evolving subject before the load moves to a new one
	freshEvery         = 10 // every tenth registration creates a new subject over the Confluent API
)

// evolvingSchema is version v (from 1) of the evolving subjects: each version adds an optional
// field with a default, a BACKWARD-compatible change. Every evolving subject walks the same
// versions, so their schemas are the same versionsPerSubject global IDs.
func evolvingSchema(v int) string {
	fields := []string{`{"name":"id","type":"string"}`}
	for i := 1; i < v; i++ {
		fields = append(fields, fmt.Sprintf(`{"name":"extra%d","type":["null","string"],"default":null}`, i))
	}
	return `{"type":"record","name":"Evolving","fields":[` + strings.Join(fields, ",") + `]}`
}

// registrations registers new versions of compatible schemas over gRPC and new subjects over the
// Confluent API, at registerEvery. A version must come back as the next version of its subject,
// and identical content must come back with the same global ID in every subject.
func (l *load) registrations() {
	client := pb.NewRegistryServiceClient(l.cl.conn)
	tick := time.NewTicker(registerEvery)
	defer tick.Stop()
	idOfVersion := map[int]int32{}
	var freshID int32
	evolving, version, fresh := 0, 0, 0
	for i := 1; ; i++ {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		if i%freshEvery == 0 {
			fresh++
			subject := fmt.Sprintf("fresh-%d-value", fresh)
			code, body, err := l.cl.do("POST", "/subjects/"+subject+"/versions", tokenAuthor, confluentContentType, schemaBody(freshSchema, ""))
			var got struct{ ID int32 }
			if err == nil && code == http.StatusOK {
				err = json.Unmarshal(body, &got)
			} else if err == nil {
				err = fmt.Errorf("HTTP %d %s", code, body)
			}
			if err == nil && freshID != 0 && got.ID != freshID {
				err = fmt.Errorf("the same schema got ID %d; it had %d in the earlier subjects", got.ID, freshID)
			}
			if err != nil {
				l.tally.fail(kindRegisterSubject, "%s: %v", subject, err)
				continue
			}
			freshID = got.ID
			l.tally.ok(kindRegisterSubject, 0)
			continue
		}
		if version == versionsPerSubject {
			evolving, version = evolving+1, 0
		}
		subject := fmt.Sprintf("evolving-%d-value", evolving)
		v := version + 1
		resp, err := rpc(l.cl, tokenAuthor, func(ctx context.Context) (*pb.RegisterSchemaResponse, error) {
			return client.RegisterSchema(ctx, &pb.RegisterSchemaRequest{Subject: subject, Schema: evolvingSchema(v)})
		})
		if err == nil && int(resp.GetVersion()) != v {
			err = fmt.Errorf("registered as version %d; want %d", resp.GetVersion(), v)
		}
		if id, seen := idOfVersion[v]; err == nil && seen && resp.GetId() != id {
			err = fmt.Errorf("version %d's schema got ID %d; it had %d in the earlier subjects", v, resp.GetId(), id)
		}
		if err != nil {
			l.tally.fail(kindRegisterVersion, "%s v%d: %v", subject, v, err)
			continue
		}
		version = v
		idOfVersion[v] = resp.GetId()
		l.tally.ok(kindRegisterVersion, 0)
	}
}

// statusesEvery is how often (in governance reads) the whole-registry ListSubjectStatuses
// runs: its cost grows with every subject the registrations add, as a console's would.
const statusesEvery = 20

// governanceReads reads what governance leads and on-call read: subject status (the strict
// subjects must read strict), the audit trail, drift reports, over gRPC and HTTP.
func (l *load) governanceReads() {
	gov := pb.NewGovernanceServiceClient(l.cl.conn)
	val := pb.NewValidationServiceClient(l.cl.conn)
	modes := map[string]pb.ValidationMode{
		subjectOrders: pb.ValidationMode_VALIDATION_MODE_CANARY, subjectPayments: pb.ValidationMode_VALIDATION_MODE_STRICT,
		subjectEvents: pb.ValidationMode_VALIDATION_MODE_CANARY, subjectAudits: pb.ValidationMode_VALIDATION_MODE_STRICT,
	}
	subjects := l.corpus.subjects()
	for i := 0; !l.stopped(); i++ {
		subject := subjects[i%len(subjects)]
		wantMode := modes[subject]
		var kind string
		var err error
		switch {
		case i%statusesEvery == statusesEvery-1:
			kind = kindGovStatuses
			var resp *pb.ListSubjectStatusesResponse
			resp, err = rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.ListSubjectStatusesResponse, error) {
				return gov.ListSubjectStatuses(ctx, &pb.ListSubjectStatusesRequest{})
			})
			if err == nil && len(resp.GetStatuses()) < len(subjects) {
				err = fmt.Errorf("%d statuses; want at least the %d validated subjects", len(resp.GetStatuses()), len(subjects))
			}
		case i%6 == 0:
			kind = kindGovStatus
			var resp *pb.GetSubjectStatusResponse
			resp, err = rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.GetSubjectStatusResponse, error) {
				return gov.GetSubjectStatus(ctx, &pb.GetSubjectStatusRequest{Subject: subject})
			})
			if err == nil && resp.GetStatus().GetMode() != wantMode {
				err = fmt.Errorf("%s is %s; want %s", subject, resp.GetStatus().GetMode(), wantMode)
			}
		case i%6 == 1:
			kind = kindGovAudit
			var resp *pb.ListAuditEntriesResponse
			resp, err = rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.ListAuditEntriesResponse, error) {
				return gov.ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{PageSize: 50})
			})
			if err == nil && len(resp.GetEntries()) == 0 {
				err = errors.New("the audit log is empty; the setup's registrations and mode overrides are missing")
			}
		case i%6 == 2:
			kind = kindGovDrift
			var resp *pb.GetDriftReportResponse
			resp, err = rpc(l.cl, tokenProducer, func(ctx context.Context) (*pb.GetDriftReportResponse, error) {
				return val.GetDriftReport(ctx, &pb.GetDriftReportRequest{Subject: subject})
			})
			if err == nil && resp.GetSubject() != subject {
				err = fmt.Errorf("drift report for %q; want %q", resp.GetSubject(), subject)
			}
		case i%6 == 3:
			kind = kindHTTPGovStatus
			var got struct{ Mode string }
			err = l.httpJSON("/v1/subjects/"+subject+"/governance", &got)
			if err == nil && got.Mode != wantMode.String() {
				err = fmt.Errorf("%s is %s; want %s", subject, got.Mode, wantMode)
			}
		case i%6 == 4:
			kind = kindHTTPGovAudit
			var got struct{ Entries []struct{ Action string } }
			err = l.httpJSON("/v1/audit?subject="+subject+"&pageSize=20", &got)
			if err == nil && len(got.Entries) == 0 {
				err = fmt.Errorf("no audit entries for %s; want at least its registration", subject)
			}
		default:
			kind = kindHTTPGovDrift
			var got struct{ Subject string }
			err = l.httpJSON("/v1/subjects/"+subject+"/drift", &got)
			if err == nil && got.Subject != subject {
				err = fmt.Errorf("drift report for %q; want %q", got.Subject, subject)
			}
		}
		if err != nil {
			l.tally.fail(kind, "%v", err)
			continue
		}
		l.tally.ok(kind, 0)
	}
}

// httpJSON GETs path from the HTTP/JSON API as the producer, expecting 200, and decodes the body.
func (l *load) httpJSON(path string, out any) error {
	code, b, err := l.cl.do("GET", path, tokenProducer, "", "")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d %s", path, code, b)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
		return fmt.Errorf("GET %s: %v in %s", path, err, b)
	}
	return nil
}
