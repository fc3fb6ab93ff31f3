package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// unregisteredSubject is the subject label of validations for names that are not registered,
// so callers cannot create metric series at will.
const unregisteredSubject = "_unregistered"

// defaultMaxBatch bounds the requests of one ValidateBatch call.
const defaultMaxBatch = 1000

// validationService serves schemagate.v1.ValidationService: the engine checks the payload, the
// subject's validation mode decides the outcome, and every validation is counted as evidence
// and in the metrics.
type validationService struct {
	pb.UnimplementedValidationServiceServer
	engine   *validate.Engine
	modes    *governance.Modes
	evidence *governance.Evidence
	metrics  *validationMetrics
	alerts   *alerting
	gov      *governance.Governor // audits drills
	maxBatch int
}

type validationMetrics struct {
	validations *prometheus.CounterVec
	findings    *prometheus.CounterVec
	duration    prometheus.Histogram
}

func newValidationMetrics(reg prometheus.Registerer) (*validationMetrics, error) {
	m := &validationMetrics{
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_validations_total",
			Help: "Payload validations by subject, validation mode and outcome (valid, flagged, rejected).",
		}, []string{"subject", "mode", "outcome"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_drift_findings_total",
			Help: "Schema drift findings by subject and drift kind.",
		}, []string{"subject", "kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "schemagate_validation_duration_seconds",
			Help:    "Time to validate one payload, in the engine.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
	}
	for _, c := range []prometheus.Collector{m.validations, m.findings, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register validation metrics: %w", err)
		}
	}
	return m, nil
}

// Validate answers one payload. A strict subject's invalid payload is refused with
// InvalidArgument carrying the ValidateResponse in the status details.
func (s *validationService) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	resp, err := s.validate(ctx, req)
	if err != nil {
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
// string instead of a response, and never fails the call.
func (s *validationService) ValidateBatch(ctx context.Context, req *pb.ValidateBatchRequest) (*pb.ValidateBatchResponse, error) {
	if n := len(req.GetRequests()); n > s.maxBatch {
		return nil, status.Errorf(codes.ResourceExhausted, "batch of %d requests; the limit is %d", n, s.maxBatch)
	}
	out := &pb.ValidateBatchResponse{Results: make([]*pb.ValidateBatchResult, len(req.GetRequests()))}
	for i, item := range req.GetRequests() {
		if item.GetSubject() == "" {
			item.Subject = req.GetSubject()
		}
		resp, err := s.validate(ctx, item)
		if err != nil {
			out.Results[i] = &pb.ValidateBatchResult{Error: status.Convert(err).Message()}
			continue
		}
		out.Results[i] = &pb.ValidateBatchResult{Response: resp}
	}
	return out, nil
}

// ValidateStream answers each message with its request ID; a bad item gets an error string and
// the stream goes on.
func (s *validationService) ValidateStream(stream pb.ValidationService_ValidateStreamServer) error {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out := &pb.ValidateStreamResponse{RequestId: msg.GetRequestId()}
		resp, err := s.validate(stream.Context(), msg.GetRequest())
		if err != nil {
			out.Error = status.Convert(err).Message()
		} else {
			out.Response = resp
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

// GetDriftReport returns the subject's aggregated findings.
func (s *validationService) GetDriftReport(ctx context.Context, req *pb.GetDriftReportRequest) (*pb.GetDriftReportResponse, error) {
	rep, err := s.evidence.DriftReport(ctx, req.GetSubject())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.GetDriftReportResponse{Subject: req.GetSubject()}
	for _, e := range rep.Entries {
		sample, _ := base64.StdEncoding.DecodeString(e.Sample) // governance keeps samples base64
		out.Entries = append(out.Entries, &pb.DriftEntry{
			Kind: driftKindToProto(validate.Kind(e.Kind)), Path: e.Path, Count: e.Count,
			FirstSeen: timestamppb.New(e.FirstSeen), LastSeen: timestamppb.New(e.LastSeen),
			Message: e.Message, Sample: sample,
		})
	}
	return out, nil
}

// InjectDrill raises a staged drill alert for a registered subject, audited as a drill and
// never recorded as evidence.
func (s *validationService) InjectDrill(ctx context.Context, req *pb.InjectDrillRequest) (*pb.InjectDrillResponse, error) {
	if req.GetSubject() == "" {
		return nil, status.Error(codes.InvalidArgument, "subject is required")
	}
	if !s.engine.Known(req.GetSubject()) {
		if err := s.engine.Refresh(ctx); err != nil {
			return nil, toStatus(err)
		}
		if !s.engine.Known(req.GetSubject()) {
			return nil, status.Errorf(codes.NotFound, "subject %q has no live version", req.GetSubject())
		}
	}
	kind := validate.KindTypeMismatch
	for k, v := range driftKinds {
		if v == req.GetKind() && req.GetKind() != pb.DriftKind_DRIFT_KIND_UNSPECIFIED {
			kind = k
		}
	}
	entry, err := s.gov.RecordDrill(ctx, actorOf(ctx), req.GetSubject(), string(kind))
	if err != nil {
		return nil, toStatus(err)
	}
	name, severity := s.alerts.drill(req.GetSubject(), s.modes.ModeOf(req.GetSubject()), string(kind))
	return &pb.InjectDrillResponse{Alert: name, Severity: severity, AuditSequence: entry.Seq}, nil
}

// validate runs one validation: engine, mode, evidence, metrics. Errors are gRPC statuses.
func (s *validationService) validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	vreq, err := engineRequest(req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := s.engine.Validate(ctx, vreq)
	s.metrics.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, validationStatus(err)
	}
	mode := s.modes.ModeOf(req.GetSubject())
	outcome, label := pb.Outcome_OUTCOME_VALID, "valid"
	if res.Invalid() {
		outcome, label = pb.Outcome_OUTCOME_FLAGGED, "flagged"
		if mode == governance.ModeStrict {
			outcome, label = pb.Outcome_OUTCOME_REJECTED, "rejected"
		}
	}
	subjectLabel := req.GetSubject()
	if !s.engine.Known(subjectLabel) {
		subjectLabel = unregisteredSubject
	}
	s.metrics.validations.WithLabelValues(subjectLabel, string(mode), label).Inc()

	resp := &pb.ValidateResponse{Outcome: outcome, Mode: modeToProto(mode), SchemaId: int32(res.SchemaID), Version: int32(res.Version)}
	var kinds []string
	var samples []governance.Sample
	var payload []byte
	if len(res.Findings) > 0 {
		payload = samplePayload(req)
	}
	for _, f := range res.Findings {
		resp.Findings = append(resp.Findings, &pb.Finding{Kind: driftKindToProto(f.Kind), Path: f.Path, Message: f.Message})
		s.metrics.findings.WithLabelValues(subjectLabel, string(f.Kind)).Inc()
		kinds = append(kinds, string(f.Kind))
		samples = append(samples, governance.Sample{Kind: string(f.Kind), Path: f.Path, Message: f.Message, Payload: payload})
	}
	if subjectLabel != unregisteredSubject {
		s.evidence.Record(req.GetSubject(), !res.Invalid(), kinds, samples)
		for _, f := range res.Findings {
			s.alerts.drift(req.GetSubject(), mode, f.Kind, f.Message)
		}
	}
	return resp, nil
}

// samplePayload is the payload as it is kept in a drift sample (truncated by governance).
func samplePayload(req *pb.ValidateRequest) []byte {
	if req.GetJson() != nil {
		b, err := req.GetJson().MarshalJSON()
		if err == nil {
			return b
		}
	}
	return req.GetData()
}

// engineRequest turns the wire request into the engine's.
func engineRequest(req *pb.ValidateRequest) (validate.Request, error) {
	if req.GetSubject() == "" {
		return validate.Request{}, status.Error(codes.InvalidArgument, "subject is required")
	}
	out := validate.Request{Subject: req.GetSubject(), Version: int(req.GetVersion()), SchemaID: int(req.GetSchemaId()), Data: req.GetData()}
	switch req.GetFormat() {
	case pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED:
		out.Format = validate.FormatUnspecified
	case pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY:
		out.Format = validate.FormatAvroBinary
	case pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT:
		out.Format = validate.FormatConfluent
	case pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON:
		out.Format = validate.FormatAvroJSON
	case pb.PayloadFormat_PAYLOAD_FORMAT_JSON:
		out.Format = validate.FormatJSON
	default:
		return validate.Request{}, status.Errorf(codes.InvalidArgument, "unknown payload format %d", req.GetFormat())
	}
	if v := req.GetJson(); v != nil {
		out.JSON, out.HasJSON = jsonValue(v), true
	}
	return out, nil
}

// jsonValue converts a protobuf Value to the engine's JSON representation, numbers as
// json.Number. (A protobuf Value holds numbers as doubles, so integers beyond 2^53 arrive
// rounded; send such payloads as CONFLUENT or AVRO_BINARY data.)
func jsonValue(v *structpb.Value) any {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		return nil
	case *structpb.Value_BoolValue:
		return k.BoolValue
	case *structpb.Value_NumberValue:
		return json.Number(strconv.FormatFloat(k.NumberValue, 'g', -1, 64))
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

// validationStatus maps engine errors to gRPC codes.
func validationStatus(err error) error {
	switch {
	case errors.Is(err, validate.ErrSubjectNotFound), errors.Is(err, validate.ErrVersionNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, validate.ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, validate.ErrTooLarge), errors.Is(err, validate.ErrTooDeep):
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	return toStatus(err)
}

func modeToProto(m governance.Mode) pb.ValidationMode {
	if m == governance.ModeStrict {
		return pb.ValidationMode_VALIDATION_MODE_STRICT
	}
	return pb.ValidationMode_VALIDATION_MODE_CANARY
}

// driftKinds maps drift kinds to their protobuf enum; unknown kinds are OTHER.
var driftKinds = map[validate.Kind]pb.DriftKind{
	validate.KindUnknownField:        pb.DriftKind_DRIFT_KIND_UNKNOWN_FIELD,
	validate.KindMissingField:        pb.DriftKind_DRIFT_KIND_MISSING_FIELD,
	validate.KindTypeMismatch:        pb.DriftKind_DRIFT_KIND_TYPE_MISMATCH,
	validate.KindEnumViolation:       pb.DriftKind_DRIFT_KIND_ENUM_VIOLATION,
	validate.KindConstraintViolation: pb.DriftKind_DRIFT_KIND_CONSTRAINT_VIOLATION,
	validate.KindDecodeError:         pb.DriftKind_DRIFT_KIND_DECODE_ERROR,
	validate.KindUnknownSchemaID:     pb.DriftKind_DRIFT_KIND_UNKNOWN_SCHEMA_ID,
	validate.KindStaleSchemaVersion:  pb.DriftKind_DRIFT_KIND_STALE_SCHEMA_VERSION,
	validate.KindOther:               pb.DriftKind_DRIFT_KIND_OTHER,
}

func driftKindToProto(k validate.Kind) pb.DriftKind {
	if d, ok := driftKinds[k]; ok {
		return d
	}
	return pb.DriftKind_DRIFT_KIND_OTHER
}
