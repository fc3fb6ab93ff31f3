package gateway

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/validate"
)

// This file translates between the protobuf API and the domain packages' types. It decides
// nothing: every mapping is one to one, and a value the domain does not know is refused with
// the domain's own error.

// driftKindProtos maps each drift kind, by its index, to its protobuf enum value, which is
// named after it (unknown_field is DRIFT_KIND_UNKNOWN_FIELD).
var driftKindProtos = func() (out [validate.NumKinds]pb.DriftKind) {
	for _, k := range validate.Kinds() {
		out[k.Index()] = pb.DriftKind(pb.DriftKind_value["DRIFT_KIND_"+strings.ToUpper(k.String())])
	}
	return out
}()

// DriftKindToProto returns k's protobuf value; a kind that is not one of validate.Kinds is
// OTHER.
func DriftKindToProto(k validate.Kind) pb.DriftKind { return driftKindProtos[k.Index()] }

// DriftKindFromProto returns the drift kind of d, "" for UNSPECIFIED or a value no kind has.
// Clients (the CLI) read and print kinds with it.
func DriftKindFromProto(d pb.DriftKind) validate.Kind {
	for i, v := range driftKindProtos {
		if v == d && d != pb.DriftKind_DRIFT_KIND_UNSPECIFIED {
			return validate.Kinds()[i]
		}
	}
	return ""
}

func modeToProto(m governance.ValidationMode) pb.ValidationMode {
	if m == governance.ModeStrict {
		return pb.ValidationMode_VALIDATION_MODE_STRICT
	}
	return pb.ValidationMode_VALIDATION_MODE_CANARY
}

// ValidationModeFromProto returns the validation mode of m; UNSPECIFIED is an error wrapping
// governance.ErrBadRequest.
func ValidationModeFromProto(m pb.ValidationMode) (governance.ValidationMode, error) {
	switch m {
	case pb.ValidationMode_VALIDATION_MODE_CANARY:
		return governance.ModeCanary, nil
	case pb.ValidationMode_VALIDATION_MODE_STRICT:
		return governance.ModeStrict, nil
	}
	return "", fmt.Errorf("%w: mode must be VALIDATION_MODE_CANARY or VALIDATION_MODE_STRICT", governance.ErrBadRequest)
}

// OutcomeFromProto returns the outcome of o; UNSPECIFIED is 0, no outcome.
func OutcomeFromProto(o pb.Outcome) governance.Outcome {
	for _, g := range []governance.Outcome{governance.OutcomeValid, governance.OutcomeFlagged, governance.OutcomeRejected} {
		if outcomeToProto(g) == o {
			return g
		}
	}
	return 0
}

func outcomeToProto(o governance.Outcome) pb.Outcome {
	switch o {
	case governance.OutcomeValid:
		return pb.Outcome_OUTCOME_VALID
	case governance.OutcomeFlagged:
		return pb.Outcome_OUTCOME_FLAGGED
	case governance.OutcomeRejected:
		return pb.Outcome_OUTCOME_REJECTED
	}
	return pb.Outcome_OUTCOME_UNSPECIFIED
}

func payloadFormatFromProto(f pb.PayloadFormat) (validate.Format, error) {
	switch f {
	case pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED:
		return validate.FormatUnspecified, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY:
		return validate.FormatAvroBinary, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT:
		return validate.FormatConfluent, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON:
		return validate.FormatAvroJSON, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_JSON:
		return validate.FormatJSON, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF:
		return validate.FormatProtobuf, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF_JSON:
		return validate.FormatProtobufJSON, nil
	}
	return 0, fmt.Errorf("%w: unknown payload format %d", validate.ErrBadRequest, f)
}

func statusToProto(st governance.Status) *pb.SubjectStatus {
	out := &pb.SubjectStatus{
		Subject: st.Subject, Mode: modeToProto(st.Mode),
		CleanSeconds: int64(st.Clean.Seconds()), RequiredSeconds: int64(st.Required.Seconds()),
		Validations: st.Validations, Violations: st.Violations, Eligible: st.Eligible, Reasons: st.Reasons,
	}
	if !st.ModeSince.IsZero() {
		out.ModeSince = timestamppb.New(st.ModeSince)
	}
	if !st.WindowStart.IsZero() {
		out.WindowStart = timestamppb.New(st.WindowStart)
	}
	if st.Pending != nil {
		out.PendingPromotion = promotionToProto(*st.Pending)
	}
	for _, p := range st.Principals {
		out.Principals = append(out.Principals, &pb.PrincipalValidations{Principal: p.Principal, Validations: p.Validations})
	}
	return out
}

func evidenceToProto(e governance.EvidenceSnapshot) *pb.Evidence {
	return &pb.Evidence{WindowStart: timestamppb.New(e.WindowStart), WindowEnd: timestamppb.New(e.WindowEnd),
		CleanDuration: durationpb.New(e.Clean), Validations: e.Validations, Violations: e.Violations}
}

// promotionStates maps the promotion states to their protobuf values.
var promotionStates = map[string]pb.PromotionState{
	governance.StatePending:  pb.PromotionState_PROMOTION_STATE_PENDING,
	governance.StateApproved: pb.PromotionState_PROMOTION_STATE_APPROVED,
	governance.StateRejected: pb.PromotionState_PROMOTION_STATE_REJECTED,
}

func promotionToProto(p governance.Promotion) *pb.Promotion {
	out := &pb.Promotion{Id: p.ID, Subject: p.Subject, Ticket: p.Ticket, Requester: p.Requester, Approver: p.Approver,
		Reason: p.Reason, Comment: p.Comment, Evidence: evidenceToProto(p.Evidence), CreateTime: timestamppb.New(p.Created),
		State: promotionStates[p.State]}
	if !p.Decided.IsZero() {
		out.DecideTime = timestamppb.New(p.Decided)
	}
	return out
}

func entryToProto(e governance.Entry) *pb.AuditEntry {
	out := &pb.AuditEntry{Sequence: e.Seq, Time: timestamppb.New(e.Time), Actor: e.Actor, Role: e.Role, Action: string(e.Action),
		Subject: e.Subject, Ticket: e.Ticket, Incident: e.Incident, Reason: e.Reason, PromotionId: e.PromotionID,
		FromMode: e.FromMode, ToMode: e.ToMode, Details: e.Details, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Evidence != nil {
		out.Evidence = evidenceToProto(*e.Evidence)
	}
	return out
}

// VerifyResponse is the API's rendering of a verification of the audit chain, online (the
// VerifyAuditChain RPC) and offline (`schemagate audit verify --data-dir`).
func VerifyResponse(r governance.VerifyResult) *pb.VerifyAuditChainResponse {
	return &pb.VerifyAuditChainResponse{Ok: r.OK, EntriesChecked: r.Checked, FirstBrokenSequence: r.FirstBroken, Problem: r.Problem,
		HeadSequence: r.HeadSeq, HeadHash: r.HeadHash}
}

// SchemaTypeFromProto returns the schema type of t (UNSPECIFIED is AVRO, as in Confluent's
// API); anything else is an error wrapping registry.ErrInvalidSchema.
func SchemaTypeFromProto(t pb.SchemaType) (registry.SchemaType, error) {
	switch t {
	case pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED, pb.SchemaType_SCHEMA_TYPE_AVRO:
		return registry.SchemaTypeAvro, nil
	case pb.SchemaType_SCHEMA_TYPE_JSON:
		return registry.SchemaTypeJSON, nil
	case pb.SchemaType_SCHEMA_TYPE_PROTOBUF:
		return registry.SchemaTypeProtobuf, nil
	default:
		return "", fmt.Errorf("%w: unsupported schema type %d: want AVRO, JSON or PROTOBUF", registry.ErrInvalidSchema, t)
	}
}

func schemaTypeToProto(t registry.SchemaType) pb.SchemaType {
	switch t {
	case registry.SchemaTypeAvro:
		return pb.SchemaType_SCHEMA_TYPE_AVRO
	case registry.SchemaTypeJSON:
		return pb.SchemaType_SCHEMA_TYPE_JSON
	case registry.SchemaTypeProtobuf:
		return pb.SchemaType_SCHEMA_TYPE_PROTOBUF
	default:
		return pb.SchemaType_SCHEMA_TYPE_UNSPECIFIED
	}
}

func referencesFromProto(refs []*pb.Reference) []registry.Reference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]registry.Reference, len(refs))
	for i, r := range refs {
		out[i] = registry.Reference{Name: r.GetName(), Subject: r.GetSubject(), Version: int(r.GetVersion())}
	}
	return out
}

func schemaToProto(s registry.Schema) *pb.Schema {
	out := &pb.Schema{Id: int32(s.ID), SchemaType: schemaTypeToProto(s.Type), Schema: s.Text}
	for _, r := range s.References {
		out.References = append(out.References, &pb.Reference{Name: r.Name, Subject: r.Subject, Version: int32(r.Version)})
	}
	return out
}

func subjectVersionToProto(sv registry.SubjectVersion) *pb.SubjectVersion {
	return &pb.SubjectVersion{
		Subject: sv.Subject,
		Version: int32(sv.Version),
		Schema:  schemaToProto(sv.Schema),
		Deleted: sv.Deleted,
	}
}
