package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// clientFlags are the flags every client subcommand shares.
type clientFlags struct {
	lookupEnv func(string) (string, bool)
	server    string
	token     string
	output    outputFormat
	timeout   time.Duration
	tls       bool
	tlsCA     string
	tlsCert   string
	tlsKey    string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", "127.0.0.1:9091", "gRPC address of the gateway")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "bearer token (default $SCHEMAGATE_TOKEN)")
	f.output = outputText
	cmd.PersistentFlags().VarP(&f.output, "output", "o", "output format: text or json")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "deadline of each call")
	cmd.PersistentFlags().BoolVar(&f.tls, "tls", false, "connect with TLS, verifying the server against the system roots (implied by --tls-ca, --tls-cert)")
	cmd.PersistentFlags().StringVar(&f.tlsCA, "tls-ca", "", "PEM CA certificates to verify the server with; implies --tls (default $SCHEMAGATE_TLS_CA)")
	cmd.PersistentFlags().StringVar(&f.tlsCert, "tls-cert", "", "PEM client certificate for mutual TLS, with --tls-key; implies --tls (default $SCHEMAGATE_TLS_CERT)")
	cmd.PersistentFlags().StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert (default $SCHEMAGATE_TLS_KEY)")
	cmd.SetFlagErrorFunc(flagError)
}

// outputFormat is the value of -o/--output: text (the default) or json. The flag refuses
// anything else when it is parsed.
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }

// Type is "string", so that --help shows the flag as before.
func (o *outputFormat) Type() string { return "string" }

// Set accepts text or json.
func (o *outputFormat) Set(s string) error {
	if v := outputFormat(s); v != outputText && v != outputJSON {
		return fmt.Errorf("-o %q: want text or json", s)
	}
	*o = outputFormat(s)
	return nil
}

// ownMessage marks the flag values whose Set errors name the flag and the accepted values
// themselves.
type ownMessage interface {
	pflag.Value
	ownMessage()
}

func (*outputFormat) ownMessage() {}

// flagError reports a value refused by one of our flag types with its own message, as the
// command did when it checked the value itself; any other flag error passes unchanged.
func flagError(_ *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		if _, ok := iv.GetFlag().Value.(ownMessage); ok {
			return iv.Unwrap()
		}
	}
	return err
}

// env returns flag when set, else the environment variable name.
func (f *clientFlags) env(flag, name string) string {
	if flag == "" && f.lookupEnv != nil {
		flag, _ = f.lookupEnv(name)
	}
	return flag
}

// transportCredentials is TLS when --tls or any TLS file is given (flag or environment), and
// plaintext otherwise.
func (f *clientFlags) transportCredentials() (credentials.TransportCredentials, error) {
	ca, cert, key := f.env(f.tlsCA, "SCHEMAGATE_TLS_CA"), f.env(f.tlsCert, "SCHEMAGATE_TLS_CERT"), f.env(f.tlsKey, "SCHEMAGATE_TLS_KEY")
	if !f.tls && ca == "" && cert == "" && key == "" {
		return insecure.NewCredentials(), nil
	}
	tc, err := gateway.ClientTLSConfig(ca, cert, key)
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return credentials.NewTLS(tc), nil
}

// conn dials the gateway and returns a context carrying the bearer token, if any.
func (f *clientFlags) conn(ctx context.Context) (context.Context, *grpc.ClientConn, context.CancelFunc, error) {
	token := f.env(f.token, "SCHEMAGATE_TOKEN")
	creds, err := f.transportCredentials()
	if err != nil {
		return nil, nil, nil, err
	}
	conn, err := grpc.NewClient(f.server, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("connect %s: %w", f.server, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx, conn, func() { cancel(); _ = conn.Close() }, nil
}

// callErr turns a gRPC error into the server's message and code, which the CLI prints before
// exiting non-zero.
func callErr(err error) error {
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("%s (%s)", st.Message(), st.Code())
	}
	return err
}

// printJSON writes m as indented protobuf JSON, for scripts.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func newSchemaCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "schema", Short: "Register and read schemas"}
	f.register(cmd)
	cmd.AddCommand(newSchemaRegisterCmd(f), newSchemaGetCmd(f))
	return cmd
}

func newSchemaRegisterCmd(f *clientFlags) *cobra.Command {
	var typ, file string
	cmd := &cobra.Command{
		Use:   "register SUBJECT --type AVRO|JSON --file FILE",
		Short: "Register a schema under a subject (FILE - reads standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseSchemaType(typ)
			if err != nil {
				return err
			}
			text, err := readFile(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := pb.NewRegistryServiceClient(conn).RegisterSchema(ctx, &pb.RegisterSchemaRequest{
				Subject: args[0], SchemaType: st, Schema: text,
			})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "registered %s version %d, schema ID %d\n", resp.GetSubject(), resp.GetVersion(), resp.GetId())
			return err
		},
	}
	cmd.Flags().StringVar(&typ, "type", "AVRO", "schema type: AVRO or JSON")
	cmd.Flags().StringVar(&file, "file", "", "schema file (- for standard input)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func newSchemaGetCmd(f *clientFlags) *cobra.Command {
	var id int32
	cmd := &cobra.Command{
		Use:   "get (--id N | SUBJECT [VERSION])",
		Short: "Print a schema by global ID, or a subject version (latest by default)",
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("id") {
				if len(args) != 0 {
					return errors.New("give either --id or SUBJECT [VERSION], not both")
				}
				return nil
			}
			if len(args) < 1 || len(args) > 2 {
				return errors.New("give --id N or SUBJECT [VERSION]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			client := pb.NewRegistryServiceClient(conn)
			out := cmd.OutOrStdout()
			if cmd.Flags().Changed("id") {
				resp, err := client.GetSchema(ctx, &pb.GetSchemaRequest{Id: id})
				if err != nil {
					return callErr(err)
				}
				if f.output == outputJSON {
					return printJSON(out, resp)
				}
				return printSchema(out, resp.GetSchema(), "")
			}
			version := "latest"
			if len(args) == 2 {
				version = args[1]
			}
			resp, err := client.GetSubjectVersion(ctx, &pb.GetSubjectVersionRequest{Subject: args[0], Version: version})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(out, resp)
			}
			v := resp.GetVersion()
			return printSchema(out, v.GetSchema(), fmt.Sprintf("subject: %s\nversion: %d\n", v.GetSubject(), v.GetVersion()))
		},
	}
	cmd.Flags().Int32Var(&id, "id", 0, "global schema ID")
	return cmd
}

func printSchema(w io.Writer, s *pb.Schema, header string) error {
	typ := strings.TrimPrefix(s.GetSchemaType().String(), "SCHEMA_TYPE_")
	_, err := fmt.Fprintf(w, "%sid: %d\ntype: %s\n", header, s.GetId(), typ)
	for _, r := range s.GetReferences() {
		if err == nil {
			_, err = fmt.Fprintf(w, "reference: %s -> %s version %d\n", r.GetName(), r.GetSubject(), r.GetVersion())
		}
	}
	if err == nil {
		_, err = fmt.Fprintf(w, "schema: %s\n", s.GetSchema())
	}
	return err
}

func newSubjectsCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "subjects", Short: "List subjects"}
	f.register(cmd)
	var prefix string
	var deleted bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List subjects with their versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, conn, done, err := f.conn(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			client := pb.NewRegistryServiceClient(conn)
			resp, err := client.ListSubjects(ctx, &pb.ListSubjectsRequest{SubjectPrefix: prefix, IncludeDeleted: deleted})
			if err != nil {
				return callErr(err)
			}
			if f.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBJECT\tVERSIONS")
			for _, s := range resp.GetSubjects() {
				vs, err := client.ListVersions(ctx, &pb.ListVersionsRequest{Subject: s, IncludeDeleted: deleted})
				if err != nil {
					return callErr(err)
				}
				fmt.Fprintf(tw, "%s\t%s\n", s, joinInts(vs.GetVersions()))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&prefix, "prefix", "", "only subjects starting with this prefix")
	list.Flags().BoolVar(&deleted, "deleted", false, "include soft-deleted subjects and versions")
	cmd.AddCommand(list)
	return cmd
}

func joinInts(vs []int32) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func parseSchemaType(s string) (pb.SchemaType, error) {
	switch strings.ToUpper(s) {
	case "AVRO":
		return pb.SchemaType_SCHEMA_TYPE_AVRO, nil
	case "JSON":
		return pb.SchemaType_SCHEMA_TYPE_JSON, nil
	default:
		return 0, fmt.Errorf("--type %q: want AVRO or JSON", s)
	}
}

func readFile(path string, stdin io.Reader) (string, error) {
	if path == "-" {
		b, err := io.ReadAll(stdin)
		return string(b), err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read schema: %w", err)
	}
	return string(b), nil
}
