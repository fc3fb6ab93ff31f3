package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway/auth"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// benchRecord is a flat JSON record of n members, alternately strings of strLen bytes and
// integers: the shape of `schemagate bench`'s JSON corpora (100 members of 58 bytes is its
// 3.9 KiB payload).
func benchRecord(n, strLen int) map[string]any {
	v := map[string]any{}
	for i := range n {
		if i%2 == 0 {
			v[fmt.Sprintf("f%d", i)] = fmt.Sprintf("%0*d", strLen, i)
		} else {
			v[fmt.Sprintf("f%d", i)] = float64(1000 + i)
		}
	}
	return v
}

// BenchmarkJSONPayloadIn is what the server does with a JSON payload before the engine sees
// it, from the message's wire bytes: decode the ValidateRequest with the server's codec and
// turn it into the engine's request, its JSON decoded. The payload is the same 3.9 KiB record
// sent as a google.protobuf.Value and as json_text; compare the ns/op. "value, protobuf" is
// the Value decoded by the standard protobuf codec into structpb and converted from it, as the
// server did before its codec (and still does for a message its codec leaves to protobuf).
//
//	go test -run '^$' -bench JSONPayloadIn -count 5 ./gateway/
func BenchmarkJSONPayloadIn(b *testing.B) {
	rec := benchRecord(100, 58)
	sv, err := structpb.NewValue(rec)
	if err != nil {
		b.Fatal(err)
	}
	text, err := json.Marshal(rec)
	if err != nil {
		b.Fatal(err)
	}
	payloads := newDecodedPayloads()
	codec := newValidationCodec(payloads)
	for _, tt := range []struct {
		name     string
		req      *pb.ValidateRequest
		protobuf bool
	}{
		{"value", &pb.ValidateRequest{Subject: "bench-value", Json: sv}, false},
		{"value, protobuf", &pb.ValidateRequest{Subject: "bench-value", Json: sv}, true},
		{"json_text", &pb.ValidateRequest{Subject: "bench-value", JsonText: string(text)}, false},
	} {
		wire, err := proto.Marshal(tt.req)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				var req pb.ValidateRequest
				if tt.protobuf {
					err = proto.Unmarshal(wire, &req)
				} else {
					err = codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &req)
				}
				if err != nil {
					b.Fatal(err)
				}
				vreq, err := engineRequest(&req, payloads)
				if err == nil {
					vreq, err = vreq.DecodeText()
				}
				if err != nil || !vreq.HasJSON {
					b.Fatal(err, vreq.HasJSON)
				}
			}
		})
	}
}

// BenchmarkValidatePerPayload is what the server adds to each payload of a ValidateBatch of
// 100 or a ValidateStream, in process: the gateway's own engine alone (the baseline, timed for
// its metric as the gateway runs it), the batch handler, and the batch handler with the
// request decoded from and the response encoded to wire bytes (what the server does besides
// the transport), with the server's codec. The payload is a Confluent-framed 193-byte Avro record, the smallest
// `schemagate bench` corpus, where the per-payload cost shows most. Every sub-benchmark
// reports ns per payload; divide by the engine's for the ratio.
//
//	go test -run '^$' -bench ValidatePerPayload -count 5 ./gateway/
func BenchmarkValidatePerPayload(b *testing.B) {
	tg := startGatewayWith(b, nil)
	var fields []string
	for i := range 8 {
		typ := map[bool]string{true: "string", false: "long"}[i%2 == 0]
		fields = append(fields, fmt.Sprintf(`{"name":"f%d","type":%q}`, i, typ))
	}
	schema := `{"type":"record","name":"Bench","fields":[` + strings.Join(fields, ",") + `]}`
	reg, err := pb.NewRegistryServiceClient(tg.conn).RegisterSchema(withToken(""), &pb.RegisterSchemaRequest{Subject: "bench-value", Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	rec := map[string]any{}
	for i := range 8 {
		if i%2 == 0 {
			rec[fmt.Sprintf("f%d", i)] = fmt.Sprintf("%044d", i)
		} else {
			rec[fmt.Sprintf("f%d", i)] = int64(1000 + i)
		}
	}
	data := framed(b, schema, int(reg.GetId()), rec)
	item := &pb.ValidateRequest{Subject: "bench-value", Data: data}
	batch := &pb.ValidateBatchRequest{}
	for range 100 {
		batch.Requests = append(batch.Requests, item)
	}
	wire, err := proto.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	svc, ctx := tg.g.validation, auth.NewContext(context.Background(), auth.Anonymous())
	b.Run("engine", func(b *testing.B) {
		vreq := validate.Request{Subject: "bench-value", Data: data}
		for b.Loop() {
			if res, err := svc.engine.Validate(ctx, vreq); err != nil || res.Invalid() {
				b.Fatal(err, res.Findings)
			}
		}
	})
	b.Run("batch handler", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if i%100 == 0 {
				if _, err := svc.ValidateBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	codec := newValidationCodec(svc.payloads)
	b.Run("batch handler and codec", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if i%100 != 0 {
				continue
			}
			var req pb.ValidateBatchRequest
			if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &req); err != nil {
				b.Fatal(err)
			}
			resp, err := svc.ValidateBatch(ctx, &req)
			if err != nil {
				b.Fatal(err)
			}
			out, err := codec.Marshal(resp)
			if err != nil {
				b.Fatal(err)
			}
			out.Free()
		}
	})
}
