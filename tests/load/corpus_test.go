package load_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// The subjects validated under load: an Avro and a JSON Schema subject in each mode. The
// strict ones carry the larger payloads (about 1.4 KiB of Avro and 3.6 KiB of JSON), so that a
// leak that keeps payloads shows up in the heap quickly.
const (
	subjectOrders   = "orders-avro"    // Avro, canary, two versions (stale version drift)
	subjectPayments = "payments-avro"  // Avro, strict
	subjectEvents   = "events-json"    // JSON Schema, canary
	subjectAudits   = "audit-log-json" // JSON Schema, strict
)

const (
	ordersV1 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}]}`
	ordersV2 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},{"name":"note","type":["null","string"],"default":null}]}`
	// ordersV3 is compatible with ordersV2 and never registered: the compatibility check reads it.
	ordersV3 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},` +
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},{"name":"note","type":["null","string"],"default":null},` +
		`{"name":"channel","type":"string","default":"web"}]}`
	eventsSchema = `{"type":"object","properties":{"id":{"type":"string"},"n":{"type":"integer","minimum":0}},"required":["id"],"additionalProperties":false}`
	// freshSchema is registered under every new subject: one schema, one global ID.
	freshSchema = `{"type":"record","name":"Fresh","fields":[{"name":"id","type":"string"},{"name":"at","type":"long"}]}`
)

// wideRecord returns an Avro record and a JSON Schema object of n fields, alternately strings
// of strLen characters and integers, and a value that is valid for both.
func wideRecord(name string, n, strLen int) (avroSchema, jsonSchema string, value map[string]any) {
	value = map[string]any{}
	var avroFields, props, required []string
	for i := range n {
		f := fmt.Sprintf("f%02d", i)
		required = append(required, `"`+f+`"`)
		if i%2 == 0 {
			value[f] = strings.Repeat(string(rune('a'+i%26)), strLen)
			avroFields = append(avroFields, fmt.Sprintf(`{"name":"%s","type":"string"}`, f))
			props = append(props, fmt.Sprintf(`"%s":{"type":"string","maxLength":%d}`, f, strLen+16))
		} else {
			value[f] = int64(1000 + i)
			avroFields = append(avroFields, fmt.Sprintf(`{"name":"%s","type":"long"}`, f))
			props = append(props, fmt.Sprintf(`"%s":{"type":"integer","minimum":0}`, f))
		}
	}
	avroSchema = `{"type":"record","name":"` + name + `","fields":[` + strings.Join(avroFields, ",") + `]}`
	jsonSchema = `{"type":"object","properties":{` + strings.Join(props, ",") + `},"required":[` + strings.Join(required, ",") +
		`],"additionalProperties":false}`
	return avroSchema, jsonSchema, value
}

// validationCase is one payload and the outcome the gateway must answer for it.
type validationCase struct {
	name    string
	subject string
	req     *pb.ValidateRequest
	want    pb.Outcome
	// httpBody is req as the HTTP/JSON API takes it.
	httpBody string
	// size is the payload's length in bytes: the binary data or the JSON text.
	size int
}

// metricLabel is the outcome label of schemagate_validations_total for the case.
func (c *validationCase) metricLabel() string {
	switch c.want {
	case pb.Outcome_OUTCOME_FLAGGED:
		return outcomeLabelFlagged
	case pb.Outcome_OUTCOME_REJECTED:
		return outcomeLabelRejected
	}
	return outcomeLabelValid
}

// corpus is what the load sends: the registered subjects, their schema IDs, and the cases.
type corpus struct {
	ids      map[string]int32 // "subject/version" → schema ID
	cases    []*validationCase
	bySubj   map[string][]*validationCase
	payments string // the payments Avro schema text
	audits   string // the audit JSON schema text
}

func (c *corpus) subjects() []string { return slices.Sorted(maps.Keys(c.bySubj)) }

// meanPayloadSize is the mean payload size in bytes over the cases, which the load cycles
// through evenly.
func (c *corpus) meanPayloadSize() int {
	total := 0
	for _, vc := range c.cases {
		total += vc.size
	}
	return total / len(c.cases)
}

// setupCorpus registers the validated subjects, makes two of them strict (an audited break-glass
// override) and builds the cases.
func setupCorpus(ctx context.Context, cl *clients) (*corpus, error) {
	c := &corpus{ids: map[string]int32{}, bySubj: map[string][]*validationCase{}}
	paymentsAvro, _, paymentValue := wideRecord("Payment", 40, 64)
	_, auditsJSON, auditValue := wideRecord("Audit", 48, 128)
	c.payments, c.audits = paymentsAvro, auditsJSON
	registry := pb.NewRegistryServiceClient(cl.conn)
	for _, r := range []struct {
		subject, schema string
		typ             pb.SchemaType
		version         int
	}{
		{subjectOrders, ordersV1, pb.SchemaType_SCHEMA_TYPE_AVRO, 1},
		{subjectOrders, ordersV2, pb.SchemaType_SCHEMA_TYPE_AVRO, 2},
		{subjectPayments, paymentsAvro, pb.SchemaType_SCHEMA_TYPE_AVRO, 1},
		{subjectEvents, eventsSchema, pb.SchemaType_SCHEMA_TYPE_JSON, 1},
		{subjectAudits, auditsJSON, pb.SchemaType_SCHEMA_TYPE_JSON, 1},
	} {
		resp, err := registry.RegisterSchema(cl.as(ctx, tokenAdmin), &pb.RegisterSchemaRequest{Subject: r.subject, SchemaType: r.typ, Schema: r.schema})
		if err != nil {
			return nil, fmt.Errorf("register %s v%d: %w", r.subject, r.version, err)
		}
		if int(resp.GetVersion()) != r.version {
			return nil, fmt.Errorf("register %s: version %d; want %d", r.subject, resp.GetVersion(), r.version)
		}
		c.ids[fmt.Sprintf("%s/%d", r.subject, r.version)] = resp.GetId()
	}
	gov := pb.NewGovernanceServiceClient(cl.conn)
	for _, s := range []string{subjectPayments, subjectAudits} {
		resp, err := gov.SetValidationMode(cl.as(ctx, tokenAdmin), &pb.SetValidationModeRequest{Subject: s,
			Mode: pb.ValidationMode_VALIDATION_MODE_STRICT, Ticket: "LOAD-1", Justification: "load test: strict subjects under traffic"})
		if err != nil {
			return nil, fmt.Errorf("make %s strict: %w", s, err)
		}
		if resp.GetStatus().GetMode() != pb.ValidationMode_VALIDATION_MODE_STRICT {
			return nil, fmt.Errorf("make %s strict: status %v", s, resp.GetStatus())
		}
	}

	type order struct {
		ID     string  `avro:"id"`
		Qty    int     `avro:"qty"`
		Status string  `avro:"status"`
		Note   *string `avro:"note"`
	}
	good := order{ID: "o-1", Qty: 2, Status: "PAID"}
	ordersV2Framed, err := framed(ordersV2, c.ids[subjectOrders+"/2"], good)
	if err != nil {
		return nil, err
	}
	ordersV1Framed, err := framed(ordersV1, c.ids[subjectOrders+"/1"], good)
	if err != nil {
		return nil, err
	}
	paymentFramed, err := framed(paymentsAvro, c.ids[subjectPayments+"/1"], paymentValue)
	if err != nil {
		return nil, err
	}
	badPayment := maps.Clone(paymentValue)
	badPayment["f01"] = "not a long"
	badAudit := maps.Clone(auditValue)
	badAudit["unexpected"] = true
	unknownID := framedWithID(ordersV2Framed, 1<<20)
	valid, flagged, rejected := pb.Outcome_OUTCOME_VALID, pb.Outcome_OUTCOME_FLAGGED, pb.Outcome_OUTCOME_REJECTED
	avroJSON, plainJSON := pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON, pb.PayloadFormat_PAYLOAD_FORMAT_JSON
	for _, k := range []struct {
		name, subject string
		req           *pb.ValidateRequest
		jsonDoc       any
		want          pb.Outcome
	}{
		{"orders: Confluent frame, latest version", subjectOrders, &pb.ValidateRequest{Data: ordersV2Framed}, nil, valid},
		{"orders: Confluent frame, older version (stale, valid)", subjectOrders, &pb.ValidateRequest{Data: ordersV1Framed}, nil, valid},
		{"orders: raw Avro binary, version 2", subjectOrders, &pb.ValidateRequest{Version: 2, Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: ordersV2Framed[5:]}, nil, valid},
		{"orders: Avro JSON", subjectOrders, &pb.ValidateRequest{Format: avroJSON}, map[string]any{"id": "o-2", "qty": 1, "status": "NEW", "note": nil}, valid},
		{"orders: truncated frame", subjectOrders, &pb.ValidateRequest{Data: ordersV2Framed[:len(ordersV2Framed)-1]}, nil, flagged},
		{"orders: unknown schema ID", subjectOrders, &pb.ValidateRequest{Data: unknownID}, nil, flagged},
		{"orders: Avro JSON, bad enum and unknown field", subjectOrders, &pb.ValidateRequest{Format: avroJSON}, map[string]any{"id": "o-3", "qty": 1, "status": "LOST", "note": nil, "extra": 1}, flagged},
		{"payments: Confluent frame", subjectPayments, &pb.ValidateRequest{Data: paymentFramed}, nil, valid},
		{"payments: trailing byte", subjectPayments, &pb.ValidateRequest{Data: append(slices.Clone(paymentFramed), 0)}, nil, rejected},
		{"payments: Avro JSON, wrong type", subjectPayments, &pb.ValidateRequest{Format: avroJSON}, badPayment, rejected},
		{"events: JSON", subjectEvents, &pb.ValidateRequest{Format: plainJSON}, map[string]any{"id": "e-1", "n": 3}, valid},
		{"events: JSON, missing and wrong-typed", subjectEvents, &pb.ValidateRequest{Format: plainJSON}, map[string]any{"n": "three"}, flagged},
		{"audit log: JSON", subjectAudits, &pb.ValidateRequest{Format: plainJSON}, auditValue, valid},
		{"audit log: JSON, unknown field", subjectAudits, &pb.ValidateRequest{Format: plainJSON}, badAudit, rejected},
	} {
		k.req.Subject = k.subject
		if k.jsonDoc != nil {
			v, err := structValue(k.jsonDoc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.name, err)
			}
			k.req.Json = v
		}
		body, err := protojson.Marshal(k.req)
		if err != nil {
			return nil, err
		}
		size := len(k.req.GetData())
		if k.req.GetJson() != nil {
			b, err := protojson.Marshal(k.req.GetJson())
			if err != nil {
				return nil, err
			}
			size = len(b)
		}
		vc := &validationCase{name: k.name, subject: k.subject, req: k.req, want: k.want, httpBody: string(body), size: size}
		c.cases = append(c.cases, vc)
		c.bySubj[k.subject] = append(c.bySubj[k.subject], vc)
	}
	return c, nil
}

// framed encodes value with the Avro schema text in the Confluent wire format under id.
func framed(schema string, id int32, value any) ([]byte, error) {
	body, err := avro.Marshal(avro.MustParse(schema), value)
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(id)), body...), nil
}

// framedWithID returns a copy of a Confluent frame with another schema ID.
func framedWithID(frame []byte, id uint32) []byte {
	out := slices.Clone(frame)
	binary.BigEndian.PutUint32(out[1:5], id)
	return out
}

// structValue converts a Go value to a protobuf Value through JSON, so integers and nested
// maps take the shape a client's JSON would have.
func structValue(v any) (*structpb.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out structpb.Value
	if err := protojson.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
