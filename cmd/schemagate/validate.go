package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// exitError ends the command with a specific exit code after its output was printed.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// Exit codes of `schemagate validate`.
const (
	exitValid    = 0
	exitFlagged  = 1
	exitRejected = 2
)

func newValidateCmd(f *clientFlags) *cobra.Command {
	var file, format string
	var version, schemaID int32
	cmd := &cobra.Command{
		Use:   "validate SUBJECT --file F [--format JSON|AVRO_JSON|CONFLUENT|AVRO_BINARY] [--version N]",
		Short: "Validate a payload; exit 0 valid, 1 flagged (canary), 2 rejected (strict)",
		Long: "Validate a payload against the subject's schema. Without --format, a file holding JSON is\n" +
			"sent as a JSON payload (JSON or Avro JSON, as the schema's type says) and anything else as\n" +
			"Confluent-framed binary. Prints the outcome and every finding.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readFile(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			req, err := validateRequest(args[0], []byte(raw), format)
			if err != nil {
				return err
			}
			req.Version, req.SchemaId = version, schemaID
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewValidationServiceClient(conn).Validate(ctx, req)
			if err != nil {
				resp = rejectedResponse(err)
				if resp == nil {
					return callErr(err)
				}
			}
			if err := printValidation(cmd.OutOrStdout(), f.output, resp); err != nil {
				return err
			}
			switch resp.GetOutcome() {
			case pb.Outcome_OUTCOME_FLAGGED:
				return exitError{code: exitFlagged, msg: "payload flagged"}
			case pb.Outcome_OUTCOME_REJECTED:
				return exitError{code: exitRejected, msg: "payload rejected"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "payload file (- for standard input)")
	cmd.Flags().StringVar(&format, "format", "", "payload format: JSON, AVRO_JSON, CONFLUENT or AVRO_BINARY")
	cmd.Flags().Int32Var(&version, "version", 0, "subject version to check against (default latest)")
	cmd.Flags().Int32Var(&schemaID, "schema-id", 0, "schema ID to check against")
	_ = cmd.MarkFlagRequired("file")
	f.register(cmd)
	return cmd
}

// validateRequest builds the request for a payload file.
func validateRequest(subject string, raw []byte, format string) (*pb.ValidateRequest, error) {
	req := &pb.ValidateRequest{Subject: subject}
	if format != "" {
		v, ok := pb.PayloadFormat_value["PAYLOAD_FORMAT_"+strings.ToUpper(format)]
		if !ok || v == 0 {
			return nil, fmt.Errorf("--format %q: want JSON, AVRO_JSON, CONFLUENT or AVRO_BINARY", format)
		}
		req.Format = pb.PayloadFormat(v)
	}
	binary := req.Format == pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT || req.Format == pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY
	var doc any
	if !binary && json.Unmarshal(raw, &doc) == nil {
		v, err := structpb.NewValue(doc)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		req.Json = v
		return req, nil
	}
	if !binary && req.Format != pb.PayloadFormat_PAYLOAD_FORMAT_UNSPECIFIED {
		return nil, errors.New("payload: the file is not valid JSON")
	}
	req.Data = raw
	return req, nil
}

// rejectedResponse extracts the ValidateResponse a strict rejection carries, or nil.
func rejectedResponse(err error) *pb.ValidateResponse {
	for _, d := range status.Convert(err).Details() {
		if resp, ok := d.(*pb.ValidateResponse); ok {
			return resp
		}
	}
	return nil
}

func printValidation(w io.Writer, output outputFormat, resp *pb.ValidateResponse) error {
	if output == outputJSON {
		return printJSON(w, resp)
	}
	fmt.Fprintf(w, "%s (mode %s, schema ID %d, version %d)\n",
		strings.TrimPrefix(resp.GetOutcome().String(), "OUTCOME_"),
		strings.ToLower(strings.TrimPrefix(resp.GetMode().String(), "VALIDATION_MODE_")),
		resp.GetSchemaId(), resp.GetVersion())
	if len(resp.GetFindings()) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPATH\tMESSAGE")
	for _, f := range resp.GetFindings() {
		path := f.GetPath()
		if path == "" {
			path = "/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToLower(strings.TrimPrefix(f.GetKind().String(), "DRIFT_KIND_")), path, f.GetMessage())
	}
	return tw.Flush()
}

func newDriftCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "drift", Short: "Schema drift reports"}
	f.register(cmd)
	cmd.AddCommand(newDrillCmd(f), &cobra.Command{
		Use:   "report SUBJECT",
		Short: "Print a subject's drift report: findings by kind and path, most frequent first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewValidationServiceClient(conn).GetDriftReport(ctx, &pb.GetDriftReportRequest{Subject: args[0]})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tPATH\tCOUNT\tFIRST SEEN\tLAST SEEN\tMESSAGE")
			for _, e := range resp.GetEntries() {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n",
					strings.ToLower(strings.TrimPrefix(e.GetKind().String(), "DRIFT_KIND_")), e.GetPath(), e.GetCount(),
					e.GetFirstSeen().AsTime().Format("2006-01-02T15:04:05Z"), e.GetLastSeen().AsTime().Format("2006-01-02T15:04:05Z"), e.GetMessage())
			}
			return tw.Flush()
		},
	})
	return cmd
}
