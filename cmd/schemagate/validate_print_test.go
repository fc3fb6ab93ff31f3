package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// TestPrintValidationSaysWhatWasLeftOut checks the text output of a validation: findings as a
// table, then, when the server capped them, how many more there are.
func TestPrintValidationSaysWhatWasLeftOut(t *testing.T) {
	finding := &pb.Finding{Kind: pb.DriftKind_DRIFT_KIND_TYPE_MISMATCH, Path: "/a", Message: "expected int, got string"}
	flagged := func(total int32, truncated bool) *pb.ValidateResponse {
		return &pb.ValidateResponse{Outcome: pb.Outcome_OUTCOME_FLAGGED, Mode: pb.ValidationMode_VALIDATION_MODE_CANARY,
			SchemaId: 1, Version: 1, Findings: []*pb.Finding{finding}, TotalFindings: total, FindingsTruncated: truncated}
	}
	const head = "FLAGGED (mode canary, schema ID 1, version 1)\n" +
		"KIND           PATH  MESSAGE\n" +
		"type_mismatch  /a    expected int, got string\n"
	tests := []struct {
		name string
		resp *pb.ValidateResponse
		want string
	}{
		{"all findings", flagged(1, false), head},
		{"capped", flagged(26, true), head + "… and 25 more findings\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := printValidation(&out, tt.resp); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, out.String()); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", tt.name, diff)
		}
	}
}
