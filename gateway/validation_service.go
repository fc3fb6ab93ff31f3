package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/gateway/auth"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// defaultMaxBatch is schema_registry.max_batch_size's default: the most requests one
// ValidateBatch call may carry.
const defaultMaxBatch = 1000

// validationService serves schemagate.v1.ValidationService: the engine checks the payload and
// the gate decides what to do with it; this type translates between protobuf and the two.
type validationService struct {
	pb.UnimplementedValidationServiceServer
	engine   *validate.Engine
	gate     *governance.Gate
	maxBatch int
	// payloads holds the JSON payloads the server's codec decoded (validationCodec); nil
	// when the service runs without it.
	payloads *decodedPayloads
}

// Validate answers one payload. A strict subject's invalid payload is refused with
// InvalidArgument carrying the ValidateResponse in the status details.
func (s *validationService) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	resp := &pb.ValidateResponse{}
	if err := s.validate(ctx, principalName(ctx), req, resp); err != nil {
		return nil, err
	}
	if resp.GetOutcome() == pb.Outcome_OUTCOME_REJECTED {
		st := status.New(codes.InvalidArgument, fmt.Sprintf("payload rejected: %d findings against schema %d of subject %q (strict mode)",
			len(resp.GetFindings()), resp.GetSchemaId(), req.GetSubject()))
		if withDetails, err := st.WithDetails(resp); err == nil {
			st = withDetails
		}
		return nil, st.Err()
	}
	return resp, nil
}

// ValidateBatch answers every request in order; a request that cannot be served gets an error
// string instead of a response, and never fails the call. An item without a subject takes the
// batch's. The whole batch is refused, before any item is validated, when one item's subject is
// not granted to the caller.
func (s *validationService) ValidateBatch(ctx context.Context, req *pb.ValidateBatchRequest) (*pb.ValidateBatchResponse, error) {
	if n := len(req.GetRequests()); n > s.maxBatch {
		return nil, fmt.Errorf("%w: batch of %d requests; the limit is %d", errBatchTooLarge, n, s.maxBatch)
	}
	for _, item := range req.GetRequests() {
		if item.GetSubject() == "" {
			item.Subject = req.GetSubject()
		}
		if err := auth.RequireSubject(ctx, item.GetSubject()); err != nil {
			return nil, err
		}
	}
	// One allocation each for the results and the responses of the whole batch, not two per item.
	n := len(req.GetRequests())
	results, resps := make([]pb.ValidateBatchResult, n), make([]pb.ValidateResponse, n)
	out := &pb.ValidateBatchResponse{Results: make([]*pb.ValidateBatchResult, n)}
	principal := principalName(ctx)
	for i, item := range req.GetRequests() {
		out.Results[i] = &results[i]
		if err := s.validate(ctx, principal, item, &resps[i]); err != nil {
			results[i].Error = clientMessage(err)
			continue
		}
		results[i].Response = &resps[i]
	}
	return out, nil
}

// ValidateStream answers each message with its request ID; a bad item, or one whose subject is
// not granted to the caller (it is not validated), gets an error string and the stream goes on.
func (s *validationService) ValidateStream(stream pb.ValidationService_ValidateStreamServer) error {
	ctx := stream.Context()
	principal := principalName(ctx)
	for {
		// One allocation for the message, its request and its response (grpc-go may read a
		// sent message lazily, so none is reused). The server's codec decodes the request
		// into the one given (validationCodec.Unmarshal).
		reply := &struct {
			in   pb.ValidateStreamRequest
			req  pb.ValidateRequest
			out  pb.ValidateStreamResponse
			resp pb.ValidateResponse
		}{}
		reply.in.Request = &reply.req
		msg := &reply.in
		err := stream.RecvMsg(msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		reply.out.RequestId = msg.GetRequestId()
		if err := s.grantedValidate(ctx, principal, msg.GetRequest(), &reply.resp); err != nil {
			reply.out.Error = clientMessage(err)
		} else {
			reply.out.Response = &reply.resp
		}
		if err := stream.Send(&reply.out); err != nil {
			return err
		}
	}
}

// GetDriftReport returns the subject's aggregated findings.
func (s *validationService) GetDriftReport(ctx context.Context, req *pb.GetDriftReportRequest) (*pb.GetDriftReportResponse, error) {
	rep, err := s.gate.DriftReport(ctx, req.GetSubject())
	if err != nil {
		return nil, err
	}
	out := &pb.GetDriftReportResponse{Subject: req.GetSubject()}
	for _, e := range rep.Entries {
		out.Entries = append(out.Entries, &pb.DriftEntry{
			Kind: DriftKindToProto(e.Kind), Path: e.Path, Count: e.Count,
			FirstSeen: timestamppb.New(e.FirstSeen), LastSeen: timestamppb.New(e.LastSeen),
			Message: e.Message, Sample: e.Sample,
		})
	}
	return out, nil
}

// InjectDrill stages a drift drill: the gate audits it and raises the drill alert.
func (s *validationService) InjectDrill(ctx context.Context, req *pb.InjectDrillRequest) (*pb.InjectDrillResponse, error) {
	d, err := s.gate.Drill(ctx, actorOf(ctx), req.GetSubject(), DriftKindFromProto(req.GetKind()))
	if err != nil {
		return nil, err
	}
	return &pb.InjectDrillResponse{Alert: d.Alert, Severity: d.Severity.String(), AuditSequence: d.Entry.Seq}, nil
}

// grantedValidate validates req into resp when its subject is granted to the caller.
func (s *validationService) grantedValidate(ctx context.Context, principal string, req *pb.ValidateRequest, resp *pb.ValidateResponse) error {
	if err := auth.RequireSubject(ctx, req.GetSubject()); err != nil {
		return err
	}
	return s.validate(ctx, principal, req, resp)
}

// validate runs one validation through the engine and the gate, as evidence sent by principal
// (principalName of the call: batches and streams look it up once, not per payload), and
// writes the answer into resp, a zero ValidateResponse the caller allocated (a batch
// allocates all of its responses at once).
func (s *validationService) validate(ctx context.Context, principal string, req *pb.ValidateRequest, resp *pb.ValidateResponse) error {
	vreq, err := engineRequest(req, s.payloads)
	if err != nil {
		return err
	}
	// Decoded here, not only in the engine, so the gate keeps a sample of the JSON payload.
	if vreq, err = vreq.DecodeText(); err != nil {
		return err
	}
	res, err := s.engine.Validate(ctx, vreq)
	if err != nil {
		return err
	}
	d := s.gate.Decide(principal, vreq, res)
	resp.Outcome, resp.Mode = outcomeToProto(d.Outcome), modeToProto(d.Mode)
	resp.SchemaId, resp.Version = int32(res.SchemaID), int32(res.Version)
	resp.TotalFindings, resp.FindingsTruncated = int32(res.TotalFindings), res.Truncated()
	if len(res.Findings) > 0 {
		resp.Findings = make([]*pb.Finding, len(res.Findings))
		for i, f := range res.Findings {
			resp.Findings[i] = &pb.Finding{Kind: DriftKindToProto(f.Kind), Path: f.Path, Message: f.Message}
		}
	}
	return nil
}

// engineRequest turns the wire request into the engine's. A JSON payload the server's codec
// decoded is taken from payloads (nil: none was); any other is converted from its Value.
func engineRequest(req *pb.ValidateRequest, payloads *decodedPayloads) (validate.Request, error) {
	decoded, marked, ok := payloads.take(req) // taken first, so a refused request leaves nothing behind
	if req.GetSubject() == "" {
		return validate.Request{}, fmt.Errorf("%w: subject is required", validate.ErrBadRequest)
	}
	format, err := payloadFormatFromProto(req.GetFormat())
	if err != nil {
		return validate.Request{}, err
	}
	out := validate.Request{Subject: req.GetSubject(), Version: int(req.GetVersion()), SchemaID: int(req.GetSchemaId()),
		Format: format, Data: req.GetData(), MessageName: req.GetMessageName()}
	switch {
	case marked && !ok:
		return validate.Request{}, errors.New("gateway: the decoded JSON payload of a request is gone (the request was copied after decoding)")
	case marked:
		out.JSON, out.HasJSON = decoded, true
	case req.GetJson() != nil:
		out.JSON, out.HasJSON = jsonValue(req.GetJson()), true
	}
	if text := req.GetJsonText(); text != "" {
		out.JSONText = []byte(text) // the engine decodes it, numbers exact
	}
	return out, nil
}

// jsonValue converts a protobuf Value to the engine's JSON representation, numbers as
// json.Number. (A protobuf Value holds numbers as doubles, so integers beyond 2^53 arrive
// rounded; json_text keeps them exact.) An integral double is written without an exponent
// (2147483648, not 2.147483648e+09), the way its sender most likely wrote it.
func jsonValue(v *structpb.Value) any {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		return nil
	case *structpb.Value_BoolValue:
		return k.BoolValue
	case *structpb.Value_NumberValue:
		return jsonNumber(k.NumberValue)
	case *structpb.Value_StringValue:
		return k.StringValue
	case *structpb.Value_ListValue:
		out := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			out[i] = jsonValue(e)
		}
		return out
	case *structpb.Value_StructValue:
		out := make(map[string]any, len(k.StructValue.GetFields()))
		for name, e := range k.StructValue.GetFields() {
			out[name] = jsonValue(e)
		}
		return out
	}
	return nil
}

// jsonNumber is a Value's number as the engine takes it: an integral double without an
// exponent (below 1e21), any other in the shortest form that reads back the same.
func jsonNumber(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// principalName is the caller's name for evidence: the authenticated principal's, or
// "anonymous" (the name an open gateway runs every call as).
func principalName(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.Name
	}
	return auth.AnonymousName
}
