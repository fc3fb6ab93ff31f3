package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate audit list` and `schemagate audit verify`, and the flags that read the audit log
// from the store directly (audit verify, governance doc).

func newAuditCmd(f *clientFlags) *cobra.Command {
	return f.group("audit", "The hash-chained audit log",
		newAuditListCmd(f), newAuditVerifyCmd(f))
}

// auditListFlags are the flags of `schemagate audit list`.
type auditListFlags struct {
	subject, action string
	after           int64
	limit           int
	oldestFirst     bool
}

// newAuditListCmd lists the audit log, newest first unless --oldest-first, reading page after
// page until --limit entries are printed or the log ends.
func newAuditListCmd(f *clientFlags) *cobra.Command {
	var l auditListFlags
	cmd := &cobra.Command{
		Use:   "list [--subject S] [--action A] [--after SEQ] [--limit N] [--oldest-first]",
		Short: "List audit entries, newest first (every entry unless --limit)",
		Long: "List the audit entries you may read, newest first (--oldest-first: in the order they were\n" +
			"written), page after page: every entry, or the first --limit N of that order. --after SEQ\n" +
			"lists only entries after sequence SEQ.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if l.limit < 0 || l.after < 0 {
				return fmt.Errorf("--limit %d, --after %d: want 0 or more", l.limit, l.after)
			}
			return call(cmd, f, l.list, printAuditEntries)
		},
	}
	cmd.Flags().StringVar(&l.subject, "subject", "", "only entries about this subject")
	cmd.Flags().StringVar(&l.action, "action", "", "only entries of this action")
	cmd.Flags().Int64Var(&l.after, "after", 0, "only entries with a larger sequence number")
	cmd.Flags().IntVar(&l.limit, "limit", 0, "print at most this many entries (0: all)")
	cmd.Flags().BoolVar(&l.oldestFirst, "oldest-first", false, "oldest entries first (default newest first)")
	return cmd
}

// list reads pages of at most governance.MaxAuditListLimit entries, following the server's
// cursor, until --limit entries are read or the log ends. The response holds them all, with
// the cursor to continue from when --limit stopped it early.
func (l *auditListFlags) list(ctx context.Context, conn *grpc.ClientConn) (*pb.ListAuditEntriesResponse, error) {
	client := pb.NewGovernanceServiceClient(conn)
	req := &pb.ListAuditEntriesRequest{Subject: l.subject, Action: l.action, AfterSequence: l.after, NewestFirst: !l.oldestFirst}
	out := &pb.ListAuditEntriesResponse{}
	for {
		req.PageSize = governance.MaxAuditListLimit
		if l.limit > 0 {
			req.PageSize = int32(min(l.limit-len(out.Entries), governance.MaxAuditListLimit))
		}
		page, err := client.ListAuditEntries(ctx, req)
		if err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, page.GetEntries()...)
		out.NextAfterSequence, out.NextBeforeSequence = page.GetNextAfterSequence(), page.GetNextBeforeSequence()
		if (out.NextAfterSequence == 0 && out.NextBeforeSequence == 0) || (l.limit > 0 && len(out.Entries) >= l.limit) {
			return out, nil
		}
		if req.NewestFirst {
			req.BeforeSequence = out.NextBeforeSequence
		} else {
			req.AfterSequence = out.NextAfterSequence
		}
	}
}

func printAuditEntries(w io.Writer, resp *pb.ListAuditEntriesResponse) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSUBJECT\tTICKET\tREASON\tHASH")
	for _, e := range resp.GetEntries() {
		printf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.12s\n", e.GetSequence(), formatTime(e.GetTime()), e.GetActor(),
			e.GetAction(), e.GetSubject(), firstOf(e.GetTicket(), e.GetIncident()), e.GetReason(), e.GetHash())
	}
	return tw.Flush()
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// newAuditVerifyCmd verifies the chain, online or offline, and prints the verdict with the
// head it found, as text or, with -o json, as the API's JSON; a broken chain exits 1 either way.
func newAuditVerifyCmd(f *clientFlags) *cobra.Command {
	var offline offlineFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit hash chain and name the first broken entry (exit 1 if broken)",
		Long: "Recompute the audit hash chain. Online it asks the server; with --data-dir or --storage-url\n" +
			"it reads the store directly, so it works while the server is down. It prints the head it\n" +
			"found (the latest entry's sequence and hash): compare it with the head the governance\n" +
			"document publishes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp *pb.VerifyAuditChainResponse
			var err error
			if offline.set() {
				err = offline.withAudit(cmd.Context(), func(a *governance.Audit) error {
					r, err := a.Verify(cmd.Context())
					if err != nil {
						return err
					}
					resp = gateway.VerifyResponse(r)
					if f.output == outputJSON {
						return printJSON(cmd.OutOrStdout(), resp)
					}
					return printVerified(cmd.OutOrStdout(), resp)
				})
			} else {
				err = call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.VerifyAuditChainResponse, error) {
					r, err := pb.NewGovernanceServiceClient(conn).VerifyAuditChain(ctx, &pb.VerifyAuditChainRequest{})
					resp = r
					return r, err
				}, printVerified)
			}
			if err == nil && !resp.GetOk() {
				return resultCode{code: 1, msg: "audit chain broken"}
			}
			return err
		},
	}
	offline.register(cmd)
	return cmd
}

// printVerified prints the verdict on the chain and the head to compare with the document's.
func printVerified(w io.Writer, r *pb.VerifyAuditChainResponse) error {
	if r.GetOk() {
		printf(w, "audit chain intact: %d entries verified\n", r.GetEntriesChecked())
	} else {
		printf(w, "audit chain BROKEN at entry %d: %s\n", r.GetFirstBrokenSequence(), r.GetProblem())
	}
	head := "(none: the log is empty)"
	if r.GetHeadSequence() != 0 || r.GetHeadHash() != "" {
		head = fmt.Sprintf("entry #%d with hash %s", r.GetHeadSequence(), r.GetHeadHash())
	}
	err := printf(w, "head: %s\ncompare it with the head the governance document (schemagate governance doc) was generated from: they must be the same\n", head)
	return err
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

// url is the store the flags name, derived as the server derives it from its config.
func (o *offlineFlags) url() string {
	return gateway.Config{Storage: gateway.StorageConfig{URL: o.storageURL}, Server: gateway.ServerConfig{DataDir: o.dataDir}}.StorageURL()
}

// withAudit opens the store the flags name, runs use on its audit log and closes the store.
func (o *offlineFlags) withAudit(ctx context.Context, use func(*governance.Audit) error) error {
	a, closeDB, err := gateway.OfflineAudit(ctx, o.url(), o.keyFile)
	if err != nil {
		return err
	}
	defer closeDB()
	return use(a)
}
