package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// `schemagate drift report` and `schemagate drift inject`.

func newDriftCmd(f *clientFlags) *cobra.Command {
	return f.group("drift", "Schema drift reports",
		newDriftInjectCmd(f), newDriftReportCmd(f))
}

func newDriftReportCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "report SUBJECT",
		Short: "Print a subject's drift report: findings by kind and path, most frequent first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.GetDriftReportResponse, error) {
				return pb.NewValidationServiceClient(conn).GetDriftReport(ctx, &pb.GetDriftReportRequest{Subject: args[0]})
			}, printDriftReport)
		},
	}
}

func printDriftReport(w io.Writer, resp *pb.GetDriftReportResponse) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tPATH\tCOUNT\tFIRST SEEN\tLAST SEEN\tMESSAGE")
	for _, e := range resp.GetEntries() {
		printf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", gateway.DriftKindFromProto(e.GetKind()), e.GetPath(), e.GetCount(),
			formatTime(e.GetFirstSeen()), formatTime(e.GetLastSeen()), e.GetMessage())
	}
	return tw.Flush()
}

func newDriftInjectCmd(f *clientFlags) *cobra.Command {
	var kind driftKind
	cmd := &cobra.Command{
		Use:   "inject SUBJECT [--kind K]",
		Short: "Stage a drift drill: raises a clearly marked alert (drill=\"true\"), audited, never counted as a violation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.InjectDrillResponse, error) {
				return pb.NewValidationServiceClient(conn).InjectDrill(ctx, &pb.InjectDrillRequest{Subject: args[0], Kind: kind.proto()})
			}, func(w io.Writer, resp *pb.InjectDrillResponse) error {
				err := printf(w, "drill raised: %s (%s) for %s, audit entry #%d; check that it reached your receivers\n",
					resp.GetAlert(), resp.GetSeverity(), args[0], resp.GetAuditSequence())
				return err
			})
		},
	}
	cmd.Flags().Var(&kind, "kind", "drift kind of the staged finding (default type_mismatch)")
	return cmd
}

// driftKind is the value of --kind: a validate.Kind, or "" for none (the server's default).
type driftKind validate.Kind

func (k *driftKind) String() string { return string(*k) }

// Type is "string", so that --help shows the flag as before.
func (k *driftKind) Type() string { return "string" }

// Set accepts a drift kind as validate names it (type_mismatch, any case); "" is none.
func (k *driftKind) Set(s string) error {
	if s == "" {
		*k = ""
		return nil
	}
	v, err := validate.ParseKind(s)
	if err != nil {
		return fmt.Errorf("--kind %q: want a drift kind such as type_mismatch or missing_field", s)
	}
	*k = driftKind(v)
	return nil
}

func (*driftKind) ownMessage() {}

// proto is the kind on the wire: UNSPECIFIED when none was given.
func (k driftKind) proto() pb.DriftKind {
	if k == "" {
		return pb.DriftKind_DRIFT_KIND_UNSPECIFIED
	}
	return gateway.DriftKindToProto(validate.Kind(k))
}
