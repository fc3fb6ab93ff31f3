package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

func newGovernanceCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "governance", Short: "Promotion to strict, approvals, rollback and the governance document"}
	f.register(cmd)
	client := func(cmd *cobra.Command) (pb.GovernanceServiceClient, func(), error) {
		ctx, conn, done, err := f.conn(cmd.Context())
		if err != nil {
			return nil, nil, err
		}
		cmd.SetContext(ctx)
		return pb.NewGovernanceServiceClient(conn), done, nil
	}

	status := &cobra.Command{
		Use:   "status [SUBJECT]",
		Short: "Show mode, clean-window evidence and eligibility (every subject without SUBJECT)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			var statuses []*pb.SubjectStatus
			if len(args) == 1 {
				resp, err := c.GetSubjectStatus(cmd.Context(), &pb.GetSubjectStatusRequest{Subject: args[0]})
				if err != nil {
					return callErr(err)
				}
				if f.output == outputJSON {
					return printJSON(cmd.OutOrStdout(), resp)
				}
				statuses = []*pb.SubjectStatus{resp.GetStatus()}
			} else {
				resp, err := c.ListSubjectStatuses(cmd.Context(), &pb.ListSubjectStatusesRequest{})
				if err != nil {
					return callErr(err)
				}
				if f.output == outputJSON {
					return printJSON(cmd.OutOrStdout(), resp)
				}
				statuses = resp.GetStatuses()
			}
			return printStatuses(cmd.OutOrStdout(), statuses)
		},
	}

	var ticket, reason, incident, comment string
	request := &cobra.Command{
		Use:   "request SUBJECT --ticket T --reason R",
		Short: "Request promotion of an eligible subject to strict",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.RequestPromotion(cmd.Context(), &pb.RequestPromotionRequest{Subject: args[0], Ticket: ticket, Reason: reason})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			p := resp.GetPromotion()
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "promotion %s requested for %s (ticket %s); a governance lead other than %s approves it\n",
				p.GetId(), p.GetSubject(), p.GetTicket(), p.GetRequester())
			return err
		},
	}
	request.Flags().StringVar(&ticket, "ticket", "", "change-request ticket")
	request.Flags().StringVar(&reason, "reason", "", "why the subject should be strict")
	_ = request.MarkFlagRequired("ticket")

	approve := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a pending promotion (not your own); the subject is strict at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.ApprovePromotion(cmd.Context(), &pb.ApprovePromotionRequest{PromotionId: args[0], Comment: comment})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "approved %s: %s is strict (audit entry #%d)\n",
				resp.GetPromotion().GetId(), resp.GetPromotion().GetSubject(), resp.GetAuditEntry().GetSequence())
			return err
		},
	}
	approve.Flags().StringVar(&comment, "comment", "", "approver's comment")

	reject := &cobra.Command{
		Use:   "reject ID --reason R",
		Short: "Reject a pending promotion",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.RejectPromotion(cmd.Context(), &pb.RejectPromotionRequest{PromotionId: args[0], Reason: reason})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rejected %s (audit entry #%d)\n", resp.GetPromotion().GetId(), resp.GetAuditEntry().GetSequence())
			return err
		},
	}
	reject.Flags().StringVar(&reason, "reason", "", "why the promotion is rejected")
	_ = reject.MarkFlagRequired("reason")

	rollback := &cobra.Command{
		Use:   "rollback SUBJECT --reason R --incident I",
		Short: "Return a subject to canary at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.Rollback(cmd.Context(), &pb.RollbackRequest{Subject: args[0], Reason: reason, Incident: incident})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is canary again (audit entry #%d)\n", args[0], resp.GetAuditEntry().GetSequence())
			return err
		},
	}
	rollback.Flags().StringVar(&reason, "reason", "", "why")
	rollback.Flags().StringVar(&incident, "incident", "", "incident ID")
	_ = rollback.MarkFlagRequired("reason")

	var offline offlineFlags
	doc := &cobra.Command{
		Use:   "doc",
		Short: "Print the governance document rendered from the audit log (--data-dir: read the store directly)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if offline.set() {
				a, closeDB, err := gateway.OfflineAudit(cmd.Context(), offline.url(), offline.keyFile)
				if err != nil {
					return err
				}
				defer closeDB()
				return gateway.WriteOfflineDocument(cmd.Context(), cmd.OutOrStdout(), a, offline.ticketURL)
			}
			c, done, err := client(cmd)
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.GetGovernanceDocument(cmd.Context(), &pb.GetGovernanceDocumentRequest{})
			if err != nil {
				return callErr(err)
			}
			_, err = io.WriteString(cmd.OutOrStdout(), resp.GetMarkdown())
			return err
		},
	}
	offline.register(doc)
	doc.Flags().StringVar(&offline.ticketURL, "ticket-url", "", "with --data-dir: link tickets, {ticket} replaced (governance.ticket_url)")
	cmd.AddCommand(status, request, approve, reject, rollback, doc)
	return cmd
}

// offlineFlags select a store to read directly.
type offlineFlags struct {
	dataDir, storageURL, keyFile, ticketURL string
}

func (o *offlineFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "read the store under this data directory directly, without a server")
	cmd.Flags().StringVar(&o.storageURL, "storage-url", "", "read this store directly, without a server")
	cmd.Flags().StringVar(&o.keyFile, "hmac-key-file", "", "the audit HMAC key (governance.audit_hmac_key_file), when the chain uses one")
}

func (o *offlineFlags) set() bool { return o.dataDir != "" || o.storageURL != "" }

func (o *offlineFlags) url() string {
	if o.storageURL != "" {
		return o.storageURL
	}
	p := filepath.ToSlash(filepath.Join(o.dataDir, "schemagate.db"))
	if !filepath.IsAbs(p) {
		p = "./" + p
	}
	return "sqlite://" + p
}

func printStatuses(w io.Writer, statuses []*pb.SubjectStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tMODE\tCLEAN\tVALIDATIONS\tVIOLATIONS\tELIGIBLE\tPENDING\tREASONS")
	for _, s := range statuses {
		pending := "-"
		if p := s.GetPendingPromotion(); p != nil {
			pending = p.GetId() + " (" + p.GetTicket() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s of %s\t%d\t%d\t%v\t%s\t%s\n", s.GetSubject(),
			strings.ToLower(strings.TrimPrefix(s.GetMode().String(), "VALIDATION_MODE_")),
			time.Duration(s.GetCleanSeconds())*time.Second, time.Duration(s.GetRequiredSeconds())*time.Second,
			s.GetValidations(), s.GetViolations(), s.GetEligible(), pending, strings.Join(s.GetReasons(), "; "))
	}
	return tw.Flush()
}

func newAuditCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The hash-chained audit log"}
	f.register(cmd)
	var subject, action string
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewGovernanceServiceClient(conn).ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{Subject: subject, Action: action, PageSize: 1000})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSUBJECT\tTICKET\tREASON\tHASH")
			for _, e := range resp.GetEntries() {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.12s\n", e.GetSequence(), formatTime(e.GetTime()), e.GetActor(),
					e.GetAction(), e.GetSubject(), firstOf(e.GetTicket(), e.GetIncident()), e.GetReason(), e.GetHash())
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&subject, "subject", "", "only entries about this subject")
	list.Flags().StringVar(&action, "action", "", "only entries of this action")

	var offline offlineFlags
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit hash chain and name the first broken entry (exit 1 if broken)",
		Long: "Recompute the audit hash chain. Online it asks the server; with --data-dir or --storage-url\n" +
			"it reads the store directly, so it works while the server is down.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ok bool
			var checked, broken int64
			var problem string
			if offline.set() {
				a, closeDB, err := gateway.OfflineAudit(cmd.Context(), offline.url(), offline.keyFile)
				if err != nil {
					return err
				}
				defer closeDB()
				r, err := a.Verify(cmd.Context())
				if err != nil {
					return err
				}
				ok, checked, broken, problem = r.OK, r.Checked, r.FirstBroken, r.Problem
			} else {
				ctx, conn, done, err := f.conn(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				r, err := pb.NewGovernanceServiceClient(conn).VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{})
				if err != nil {
					return callErr(err)
				}
				ok, checked, broken, problem = r.GetOk(), r.GetEntriesChecked(), r.GetFirstBrokenSequence(), r.GetProblem()
			}
			if ok {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "audit chain intact: %d entries verified\n", checked)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit chain BROKEN at entry %d: %s\n", broken, problem)
			return exitError{code: 1, msg: "audit chain broken"}
		},
	}
	offline.register(verify)
	cmd.AddCommand(list, verify)
	return cmd
}

func formatTime(ts *timestamppb.Timestamp) string {
	return ts.AsTime().UTC().Format("2006-01-02T15:04:05Z")
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
