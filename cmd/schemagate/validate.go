package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate validate`.

// Exit codes of `schemagate validate`.
const (
	exitValid    = 0
	exitFlagged  = 1
	exitRejected = 2
)

// validateFlags are the flags of `schemagate validate`.
type validateFlags struct {
	file, format      string
	version, schemaID int32
}

func newValidateCmd(f *clientFlags) *cobra.Command {
	var v validateFlags
	cmd := &cobra.Command{
		Use:   "validate SUBJECT --file F [--format JSON|AVRO_JSON|CONFLUENT|AVRO_BINARY] [--version N]",
		Short: "Validate a payload; exit 0 valid, 1 flagged (canary), 2 rejected (strict)",
		Long: "Validate a payload against the subject's schema. Without --format, a file holding JSON is\n" +
			"sent as a JSON payload (JSON or Avro JSON, as the schema's type says) and anything else as\n" +
			"Confluent-framed binary. Prints the outcome and every finding.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return v.run(cmd, f, args[0]) },
	}
	cmd.Flags().StringVar(&v.file, "file", "", "payload file (- for standard input)")
	cmd.Flags().StringVar(&v.format, "format", "", "payload format: JSON, AVRO_JSON, CONFLUENT or AVRO_BINARY")
	cmd.Flags().Int32Var(&v.version, "version", 0, "subject version to check against (default latest)")
	cmd.Flags().Int32Var(&v.schemaID, "schema-id", 0, "schema ID to check against")
	_ = cmd.MarkFlagRequired("file")
	f.register(cmd)
	return cmd
}

// run validates the payload of --file: it prints the outcome, then exits as the outcome says.
func (v *validateFlags) run(cmd *cobra.Command, f *clientFlags, subject string) error {
	req, err := v.request(cmd.InOrStdin(), subject)
	if err != nil {
		return err
	}
	var outcome governance.Outcome
	err = call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.ValidateResponse, error) {
		resp, err := validatePayload(ctx, conn, req)
		outcome = gateway.OutcomeFromProto(resp.GetOutcome())
		return resp, err
	}, printValidation)
	if err != nil {
		return err
	}
	return outcomeExit(outcome)
}

// request reads --file and builds the request for subject.
func (v *validateFlags) request(stdin io.Reader, subject string) (*pb.ValidateRequest, error) {
	raw, err := readFile(v.file, stdin)
	if err != nil {
		return nil, err
	}
	req, err := validateRequest(subject, []byte(raw), v.format)
	if err != nil {
		return nil, err
	}
	req.Version, req.SchemaId = v.version, v.schemaID
	return req, nil
}

// parsePayloadFormat reads --format ("" is unspecified). It looks the protobuf name up: the
// domain's validate.Format has no names to parse.
func parsePayloadFormat(format string) (pb.PayloadFormat, error) {
	if format == "" {
		return pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED, nil
	}
	v, ok := pb.PayloadFormat_value["PAYLOAD_FORMAT_"+strings.ToUpper(format)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("--format %q: want JSON, AVRO_JSON, CONFLUENT or AVRO_BINARY", format)
	}
	return pb.PayloadFormat(v), nil
}

// validateRequest builds the request for a payload file.
func validateRequest(subject string, raw []byte, format string) (*pb.ValidateRequest, error) {
	f, err := parsePayloadFormat(format)
	if err != nil {
		return nil, err
	}
	req := &pb.ValidateRequest{Subject: subject, Format: f}
	binary := req.Format == pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT || req.Format == pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY
	// JSON goes as text (json_text), so the server reads its numbers exactly as written.
	if !binary && json.Valid(raw) && utf8.Valid(raw) {
		req.JsonText = string(raw)
		return req, nil
	}
	if !binary && req.Format != pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED {
		return nil, errors.New("payload: the file is not valid JSON")
	}
	req.Data = raw
	return req, nil
}

// validatePayload calls Validate. A strict rejection is an error whose status details carry
// the response: it is returned as the response, to be printed like any other outcome.
func validatePayload(ctx context.Context, conn *grpc.ClientConn, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	resp, err := pb.NewValidationServiceClient(conn).Validate(ctx, req)
	for _, d := range status.Convert(err).Details() {
		if rejected, ok := d.(*pb.ValidateResponse); ok {
			return rejected, nil
		}
	}
	return resp, err
}

// outcomeExit is the exit of `schemagate validate` after its output: 0 valid, 1 flagged,
// 2 rejected.
func outcomeExit(o governance.Outcome) error {
	switch o {
	case governance.OutcomeFlagged:
		return exitError{code: exitFlagged, msg: "payload flagged"}
	case governance.OutcomeRejected:
		return exitError{code: exitRejected, msg: "payload rejected"}
	}
	return nil
}

func printValidation(w io.Writer, resp *pb.ValidateResponse) error {
	mode, _ := gateway.ValidationModeFromProto(resp.GetMode()) // the server always sets it
	fmt.Fprintf(w, "%s (mode %s, schema ID %d, version %d)\n",
		strings.ToUpper(gateway.OutcomeFromProto(resp.GetOutcome()).String()), mode, resp.GetSchemaId(), resp.GetVersion())
	if len(resp.GetFindings()) == 0 {
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tPATH\tMESSAGE")
	for _, f := range resp.GetFindings() {
		path := f.GetPath()
		if path == "" {
			path = "/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", gateway.DriftKindFromProto(f.GetKind()), path, f.GetMessage())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more := int(resp.GetTotalFindings()) - len(resp.GetFindings()); resp.GetFindingsTruncated() && more > 0 {
		_, err := fmt.Fprintf(w, "… and %d more findings\n", more)
		return err
	}
	return nil
}
