package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate governance status|request|approve|reject|rollback|doc`.

func newGovernanceCmd(f *clientFlags) *cobra.Command {
	return f.group("governance", "Promotion to strict, approvals, rollback and the governance document",
		newGovernanceStatusCmd(f), newGovernanceRequestCmd(f), newGovernanceApproveCmd(f),
		newGovernanceRejectCmd(f), newGovernanceRollbackCmd(f), newGovernanceDocCmd(f))
}

func newGovernanceStatusCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status [SUBJECT]",
		Short: "Show mode, clean-window evidence and eligibility (every subject without SUBJECT)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.GetSubjectStatusResponse, error) {
					return pb.NewGovernanceServiceClient(conn).GetSubjectStatus(ctx, &pb.GetSubjectStatusRequest{Subject: args[0]})
				}, func(w io.Writer, resp *pb.GetSubjectStatusResponse) error {
					return printStatuses(w, []*pb.SubjectStatus{resp.GetStatus()})
				})
			}
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.ListSubjectStatusesResponse, error) {
				return pb.NewGovernanceServiceClient(conn).ListSubjectStatuses(ctx, &pb.ListSubjectStatusesRequest{})
			}, func(w io.Writer, resp *pb.ListSubjectStatusesResponse) error {
				return printStatuses(w, resp.GetStatuses())
			})
		},
	}
}

func printStatuses(w io.Writer, statuses []*pb.SubjectStatus) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SUBJECT\tMODE\tCLEAN\tVALIDATIONS\tVIOLATIONS\tPRINCIPALS\tELIGIBLE\tPENDING\tREASONS")
	for _, s := range statuses {
		pending := "-"
		if p := s.GetPendingPromotion(); p != nil {
			pending = p.GetId() + " (" + p.GetTicket() + ")"
		}
		principals := "-"
		if ps := s.GetPrincipals(); len(ps) > 0 {
			names := make([]string, len(ps))
			for i, p := range ps {
				names[i] = fmt.Sprintf("%s (%d)", p.GetPrincipal(), p.GetValidations())
			}
			principals = strings.Join(names, ", ")
		}
		mode, _ := gateway.ValidationModeFromProto(s.GetMode()) // the server always sets it
		printf(tw, "%s\t%s\t%s of %s\t%d\t%d\t%s\t%v\t%s\t%s\n", s.GetSubject(), mode,
			time.Duration(s.GetCleanSeconds())*time.Second, time.Duration(s.GetRequiredSeconds())*time.Second,
			s.GetValidations(), s.GetViolations(), principals, s.GetEligible(), pending, strings.Join(s.GetReasons(), "; "))
	}
	return tw.Flush()
}

func newGovernanceRequestCmd(f *clientFlags) *cobra.Command {
	var ticket, reason string
	cmd := &cobra.Command{
		Use:   "request SUBJECT --ticket T --reason R",
		Short: "Request promotion of an eligible subject to strict",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.RequestPromotionResponse, error) {
				return pb.NewGovernanceServiceClient(conn).RequestPromotion(ctx, &pb.RequestPromotionRequest{Subject: args[0], Ticket: ticket, Reason: reason})
			}, func(w io.Writer, resp *pb.RequestPromotionResponse) error {
				p := resp.GetPromotion()
				err := printf(w, "promotion %s requested for %s (ticket %s); a governance lead other than %s approves it\n",
					p.GetId(), p.GetSubject(), p.GetTicket(), p.GetRequester())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&ticket, "ticket", "", "change-request ticket")
	cmd.Flags().StringVar(&reason, "reason", "", "why the subject should be strict (required)")
	_ = cmd.MarkFlagRequired("ticket")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newGovernanceApproveCmd(f *clientFlags) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a pending promotion (not your own); the subject is strict at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.ApprovePromotionResponse, error) {
				return pb.NewGovernanceServiceClient(conn).ApprovePromotion(ctx, &pb.ApprovePromotionRequest{PromotionId: args[0], Comment: comment})
			}, func(w io.Writer, resp *pb.ApprovePromotionResponse) error {
				err := printf(w, "approved %s: %s is strict (audit entry #%d)\n",
					resp.GetPromotion().GetId(), resp.GetPromotion().GetSubject(), resp.GetAuditEntry().GetSequence())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "approver's comment")
	return cmd
}

func newGovernanceRejectCmd(f *clientFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reject ID --reason R",
		Short: "Reject a pending promotion",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.RejectPromotionResponse, error) {
				return pb.NewGovernanceServiceClient(conn).RejectPromotion(ctx, &pb.RejectPromotionRequest{PromotionId: args[0], Reason: reason})
			}, func(w io.Writer, resp *pb.RejectPromotionResponse) error {
				err := printf(w, "rejected %s (audit entry #%d)\n", resp.GetPromotion().GetId(), resp.GetAuditEntry().GetSequence())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the promotion is rejected")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func newGovernanceRollbackCmd(f *clientFlags) *cobra.Command {
	var reason, incident string
	cmd := &cobra.Command{
		Use:   "rollback SUBJECT --reason R --incident I",
		Short: "Return a subject to canary at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.RollbackResponse, error) {
				return pb.NewGovernanceServiceClient(conn).Rollback(ctx, &pb.RollbackRequest{Subject: args[0], Reason: reason, Incident: incident})
			}, func(w io.Writer, resp *pb.RollbackResponse) error {
				err := printf(w, "%s is canary again (audit entry #%d)\n", args[0], resp.GetAuditEntry().GetSequence())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&incident, "incident", "", "incident ID, recorded in the audit entry (required)")
	_ = cmd.MarkFlagRequired("reason")
	_ = cmd.MarkFlagRequired("incident")
	return cmd
}

// newGovernanceDocCmd prints the governance document: Markdown whatever -o says, from the
// server or, with --data-dir or --storage-url, from the store directly.
func newGovernanceDocCmd(f *clientFlags) *cobra.Command {
	var offline offlineFlags
	cmd := &cobra.Command{
		Use:   "doc",
		Short: "Print the governance document rendered from the audit log (--data-dir: read the store directly)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if offline.set() {
				return offline.withAudit(cmd.Context(), func(a *governance.Audit) error {
					var doc strings.Builder
					if err := gateway.WriteOfflineDocument(cmd.Context(), &doc, a, offline.ticketURL); err != nil {
						return err
					}
					return printDocument(cmd.OutOrStdout(), &pb.GetGovernanceDocumentResponse{Markdown: doc.String()})
				})
			}
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.GetGovernanceDocumentResponse, error) {
				return pb.NewGovernanceServiceClient(conn).GetGovernanceDocument(ctx, &pb.GetGovernanceDocumentRequest{})
			}, printDocument, alwaysText)
		},
	}
	offline.register(cmd)
	cmd.Flags().StringVar(&offline.ticketURL, "ticket-url", "", "with --data-dir: link tickets, {ticket} replaced (governance.ticket_url)")
	return cmd
}

func printDocument(w io.Writer, resp *pb.GetGovernanceDocumentResponse) error {
	_, err := io.WriteString(w, printableLines(resp.GetMarkdown()))
	return err
}
