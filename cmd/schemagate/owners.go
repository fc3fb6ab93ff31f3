package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

func newSubjectCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "subject", Short: "Subject owners: the teams alerts are routed to"}
	f.register(cmd)
	var team, escalation string
	owner := &cobra.Command{
		Use:   `owner SUBJECT --team T [--escalation "…"]`,
		Short: "Record the team that owns a subject and its escalation entry (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewGovernanceServiceClient(conn).SetSubjectOwner(ctx, &pb.SetSubjectOwnerRequest{Subject: args[0], Team: team, Escalation: escalation})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is owned by %s (audit entry #%d)\n", args[0], resp.GetOwner().GetTeam(), resp.GetAuditSequence())
			return err
		},
	}
	owner.Flags().StringVar(&team, "team", "", "owning team")
	owner.Flags().StringVar(&escalation, "escalation", "", "escalation entry: who to call, how")
	_ = owner.MarkFlagRequired("team")
	owners := &cobra.Command{
		Use:   "owners",
		Short: "List subject owners: the escalation table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewGovernanceServiceClient(conn).ListSubjectOwners(ctx, &pb.ListSubjectOwnersRequest{})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBJECT\tTEAM\tESCALATION")
			for _, o := range resp.GetOwners() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", o.GetSubject(), o.GetTeam(), o.GetEscalation())
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(owner, owners)
	return cmd
}

// newDrillCmd is `schemagate drift inject`.
func newDrillCmd(f *clientFlags) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "inject SUBJECT [--kind K]",
		Short: "Stage a drift drill: raises a clearly marked alert (drill=\"true\"), audited, never counted as a violation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k := pb.DriftKind_DRIFT_KIND_UNSPECIFIED
			if kind != "" {
				v, ok := pb.DriftKind_value["DRIFT_KIND_"+strings.ToUpper(kind)]
				if !ok {
					return fmt.Errorf("--kind %q: want a drift kind such as type_mismatch or missing_field", kind)
				}
				k = pb.DriftKind(v)
			}
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewValidationServiceClient(conn).InjectDrill(ctx, &pb.InjectDrillRequest{Subject: args[0], Kind: k})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "drill raised: %s (%s) for %s, audit entry #%d; check that it reached your receivers\n",
				resp.GetAlert(), resp.GetSeverity(), args[0], resp.GetAuditSequence())
			return err
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "drift kind of the staged finding (default type_mismatch)")
	return cmd
}
