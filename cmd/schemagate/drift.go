package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate drift report` and `schemagate drift inject`.

func newDriftCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "drift", Short: "Schema drift reports"}
	f.register(cmd)
	cmd.AddCommand(newDriftInjectCmd(f), newDriftReportCmd(f))
	return cmd
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
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", strings.ToLower(strings.TrimPrefix(e.GetKind().String(), "DRIFT_KIND_")), e.GetPath(), e.GetCount(),
			formatTime(e.GetFirstSeen()), formatTime(e.GetLastSeen()), e.GetMessage())
	}
	return tw.Flush()
}

func newDriftInjectCmd(f *clientFlags) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "inject SUBJECT [--kind K]",
		Short: "Stage a drift drill: raises a clearly marked alert (drill=\"true\"), audited, never counted as a violation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseDriftKind(kind)
			if err != nil {
				return err
			}
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.InjectDrillResponse, error) {
				return pb.NewValidationServiceClient(conn).InjectDrill(ctx, &pb.InjectDrillRequest{Subject: args[0], Kind: k})
			}, func(w io.Writer, resp *pb.InjectDrillResponse) error {
				_, err := fmt.Fprintf(w, "drill raised: %s (%s) for %s, audit entry #%d; check that it reached your receivers\n",
					resp.GetAlert(), resp.GetSeverity(), args[0], resp.GetAuditSequence())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "drift kind of the staged finding (default type_mismatch)")
	return cmd
}

func parseDriftKind(kind string) (pb.DriftKind, error) {
	if kind == "" {
		return pb.DriftKind_DRIFT_KIND_UNSPECIFIED, nil
	}
	v, ok := pb.DriftKind_value["DRIFT_KIND_"+strings.ToUpper(kind)]
	if !ok {
		return 0, fmt.Errorf("--kind %q: want a drift kind such as type_mismatch or missing_field", kind)
	}
	return pb.DriftKind(v), nil
}
