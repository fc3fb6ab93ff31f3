package main

import (
	"bytes"
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

// Exit codes of `schemagate validate`'s outcomes; any error exits [exitError] (3).
const (
	exitValid    = 0
	exitFlagged  = 1
	exitRejected = 2
)

// validateFlags are the flags of `schemagate validate`.
type validateFlags struct {
	file, format, message string
	version, schemaID     int32
}

func newValidateCmd(f *clientFlags) *cobra.Command {
	var v validateFlags
	cmd := &cobra.Command{
		Use:   "validate SUBJECT --file F [--format JSON|AVRO_JSON|CONFLUENT|AVRO_BINARY|PROTOBUF|PROTOBUF_JSON] [--message M] [--version N]",
		Short: "Validate a payload; exit 0 valid, 1 flagged (canary), 2 rejected (strict), 3 error",
		Long: "Validate a payload against the subject's schema. Without --format, a file holding JSON is\n" +
			"sent as a JSON payload (JSON or Avro JSON, as the schema's type says), a file starting with\n" +
			"the magic byte 0 as Confluent-framed binary, and anything else is refused: raw Avro binary\n" +
			"needs --format AVRO_BINARY, a raw Protobuf message --format PROTOBUF. A JSON file against a\n" +
			"Protobuf schema is read in the Protobuf JSON mapping. --message names the Protobuf message\n" +
			"type of a PROTOBUF or PROTOBUF_JSON payload (default: the first the schema declares). JSON\n" +
			"goes as text, so numbers stay exactly as written (9007199254740993 is not rounded to a\n" +
			"double). Prints the outcome and every finding.\n\n" +
			"Exit codes: 0 valid, 1 flagged (canary), 2 rejected (strict), 3 any error (usage, unreadable\n" +
			"payload file, unreachable server, unknown subject, …): an error is never a verdict.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return v.run(cmd, f, args[0]) },
	}
	cmd.Flags().StringVar(&v.file, "file", "", "payload file (- for standard input)")
	cmd.Flags().StringVar(&v.format, "format", "", "payload format: JSON, AVRO_JSON, CONFLUENT, AVRO_BINARY, PROTOBUF or PROTOBUF_JSON")
	cmd.Flags().StringVar(&v.message, "message", "", "full name of the Protobuf message type (pkg.Message) of a PROTOBUF or PROTOBUF_JSON payload")
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
	raw, err := readFile("payload", v.file, stdin)
	if err != nil {
		return nil, err
	}
	req, err := validateRequest(subject, []byte(raw), v.format)
	if err != nil {
		return nil, err
	}
	req.Version, req.SchemaId, req.MessageName = v.version, v.schemaID, v.message
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
		return 0, fmt.Errorf("--format %q: want JSON, AVRO_JSON, CONFLUENT, AVRO_BINARY, PROTOBUF or PROTOBUF_JSON", format)
	}
	return pb.PayloadFormat(v), nil
}

// validateRequest builds the request for a payload file. With --format CONFLUENT, AVRO_BINARY
// or PROTOBUF the file is sent as binary data; with JSON, AVRO_JSON or PROTOBUF_JSON it must
// parse as JSON.
// Without --format the file is sniffed (see [sniffPayload]).
func validateRequest(subject string, raw []byte, format string) (*pb.ValidateRequest, error) {
	f, err := parsePayloadFormat(format)
	if err != nil {
		return nil, err
	}
	req := &pb.ValidateRequest{Subject: subject, Format: f}
	switch f {
	case pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT, pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF:
		req.Data = raw
		return req, nil
	case pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED:
		isJSON, err := sniffPayload(raw)
		if err != nil {
			return nil, err
		}
		if !isJSON {
			req.Data = raw
			return req, nil
		}
	}
	if req.JsonText, err = jsonPayload(raw); err != nil {
		return nil, err
	}
	return req, nil
}

// confluentMagic is the first byte of a Confluent-framed payload.
const confluentMagic = 0

// utf8BOM is the byte order mark some editors write at the start of a UTF-8 file.
var utf8BOM = []byte("\xef\xbb\xbf")

// sniffPayload tells a JSON file from a binary one when --format is not given: a file that
// parses as JSON (after an optional byte order mark), or that starts with '{', '[' or '"' and
// so was meant as JSON, is JSON; anything else must be Confluent-framed (magic byte 0), or the
// error names the --format it needs instead of sending it.
func sniffPayload(raw []byte) (isJSON bool, _ error) {
	if len(raw) == 0 {
		return false, errors.New("payload: the file is empty")
	}
	text := bytes.TrimLeft(bytes.TrimPrefix(raw, utf8BOM), " \t\r\n")
	if json.Valid(text) {
		return true, nil
	}
	if len(text) > 0 && strings.IndexByte(`{["`, text[0]) >= 0 {
		return true, nil // jsonPayload says why it does not parse
	}
	if raw[0] != confluentMagic {
		return false, fmt.Errorf("payload: the file is neither JSON nor Confluent-framed (its first byte is 0x%02x, not the magic byte 0): "+
			"for raw Avro binary pass --format AVRO_BINARY, for a raw Protobuf message --format PROTOBUF, with --version or --schema-id", raw[0])
	}
	return false, nil
}

// jsonPayload checks raw, after an optional byte order mark, as a JSON payload and returns it as
// text: the request's json_text, which the server reads with its numbers exactly as written.
// (Servers also take JSON text in data with format JSON or AVRO_JSON; json_text is kept because
// servers from before that accept it too, and a file that is not JSON fails here, before a call.)
func jsonPayload(raw []byte) (string, error) {
	text := bytes.TrimPrefix(raw, utf8BOM)
	var doc any
	if err := json.Unmarshal(text, &doc); err != nil {
		return "", fmt.Errorf("payload: the file is not valid JSON: %w", err)
	}
	if !utf8.Valid(text) {
		return "", errors.New("payload: the file is not valid UTF-8")
	}
	return string(text), nil
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
		return resultCode{code: exitFlagged, msg: "payload flagged"}
	case governance.OutcomeRejected:
		return resultCode{code: exitRejected, msg: "payload rejected"}
	}
	return nil
}

func printValidation(w io.Writer, resp *pb.ValidateResponse) error {
	mode, _ := gateway.ValidationModeFromProto(resp.GetMode()) // the server always sets it
	printf(w, "%s (mode %s, schema ID %d, version %d)\n",
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
		printf(tw, "%s\t%s\t%s\n", gateway.DriftKindFromProto(f.GetKind()), path, f.GetMessage())
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
