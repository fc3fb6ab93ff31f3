package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate subjects list`, and the owners of subjects: `schemagate subject owner` and
// `schemagate subject owners`.

func newSubjectsCmd(f *clientFlags) *cobra.Command {
	return f.group("subjects", "List subjects",
		newSubjectsListCmd(f))
}

func newSubjectsListCmd(f *clientFlags) *cobra.Command {
	var prefix string
	var deleted bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List subjects with their versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listSubjects(cmd, f, &pb.ListSubjectsRequest{SubjectPrefix: prefix, IncludeDeleted: deleted})
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "only subjects starting with this prefix")
	cmd.Flags().BoolVar(&deleted, "deleted", false, "include soft-deleted subjects and versions")
	return cmd
}

// listSubjects lists the subjects req asks for; the text output also asks for the versions of
// each, on the same connection.
func listSubjects(cmd *cobra.Command, f *clientFlags, req *pb.ListSubjectsRequest) error {
	var versions func(subject string) ([]int32, error)
	return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.ListSubjectsResponse, error) {
		c := pb.NewRegistryServiceClient(conn)
		versions = func(subject string) ([]int32, error) {
			vs, err := c.ListVersions(ctx, &pb.ListVersionsRequest{Subject: subject, IncludeDeleted: req.GetIncludeDeleted()})
			return vs.GetVersions(), err
		}
		return c.ListSubjects(ctx, req)
	}, func(w io.Writer, resp *pb.ListSubjectsResponse) error {
		return printSubjects(w, resp.GetSubjects(), versions)
	})
}

// printSubjects prints each subject with the versions it asks for (the text output alone
// lists versions); nothing is printed when asking fails.
func printSubjects(w io.Writer, subjects []string, versions func(string) ([]int32, error)) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SUBJECT\tVERSIONS")
	for _, s := range subjects {
		vs, err := versions(s)
		if err != nil {
			return err
		}
		printf(tw, "%s\t%s\n", s, joinInts(vs))
	}
	return tw.Flush()
}

func joinInts(vs []int32) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func newSubjectCmd(f *clientFlags) *cobra.Command {
	return f.group("subject", "Subject owners: the teams alerts are routed to",
		newSubjectOwnerCmd(f), newSubjectOwnersCmd(f))
}

func newSubjectOwnerCmd(f *clientFlags) *cobra.Command {
	var team, escalation string
	cmd := &cobra.Command{
		Use:   `owner SUBJECT --team T [--escalation "…"]`,
		Short: "Record the team that owns a subject and its escalation entry (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.SetSubjectOwnerResponse, error) {
				return pb.NewGovernanceServiceClient(conn).SetSubjectOwner(ctx, &pb.SetSubjectOwnerRequest{Subject: args[0], Team: team, Escalation: escalation})
			}, func(w io.Writer, resp *pb.SetSubjectOwnerResponse) error {
				err := printf(w, "%s is owned by %s (audit entry #%d)\n", args[0], resp.GetOwner().GetTeam(), resp.GetAuditSequence())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&team, "team", "", "owning team")
	cmd.Flags().StringVar(&escalation, "escalation", "", "escalation entry: who to call, how")
	_ = cmd.MarkFlagRequired("team")
	return cmd
}

func newSubjectOwnersCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "owners",
		Short: "List subject owners: the escalation table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.ListSubjectOwnersResponse, error) {
				return pb.NewGovernanceServiceClient(conn).ListSubjectOwners(ctx, &pb.ListSubjectOwnersRequest{})
			}, printOwners)
		},
	}
}

func printOwners(w io.Writer, resp *pb.ListSubjectOwnersResponse) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SUBJECT\tTEAM\tESCALATION")
	for _, o := range resp.GetOwners() {
		printf(tw, "%s\t%s\t%s\n", o.GetSubject(), o.GetTeam(), o.GetEscalation())
	}
	return tw.Flush()
}
