package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/schemagate/schemagate/gateway"
)

// This file holds what every client subcommand shares: the connection flags, the one call
// helper that connects, calls, maps the error and prints, and the small helpers their text
// renderings use.

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

// register adds the client flags to cmd and its subcommands.
func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.server, "server", "127.0.0.1:9091", "gRPC address of the gateway")
	fs.StringVar(&f.token, "token", "", "bearer token (default $SCHEMAGATE_TOKEN)")
	f.output = outputText
	fs.VarP(&f.output, "output", "o", "output format: text or json")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "deadline of each call")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS, verifying the server against the system roots (implied by --tls-ca, --tls-cert)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA certificates to verify the server with; implies --tls (default $SCHEMAGATE_TLS_CA)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM client certificate for mutual TLS, with --tls-key; implies --tls (default $SCHEMAGATE_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert (default $SCHEMAGATE_TLS_KEY)")
	cmd.SetFlagErrorFunc(flagError)
}

// group is a noun command (schema, drift, governance, …) whose subcommands are clients of the
// gateway: it carries the client flags for all of them.
func (f *clientFlags) group(use, short string, subcommands ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	f.register(cmd)
	cmd.AddCommand(subcommands...)
	return cmd
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

// dial connects to the gateway and returns a context bounded by --timeout that carries the
// bearer token, if any; done cancels it and closes the connection.
func (f *clientFlags) dial(ctx context.Context) (_ context.Context, _ *grpc.ClientConn, done func(), _ error) {
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

// callOption changes how [call] prints.
type callOption func(*callOptions)

type callOptions struct{ alwaysText bool }

// alwaysText prints the text rendering whatever -o says: for output that is a document
// (governance doc's Markdown) or a verdict (audit verify), as these commands always have.
func alwaysText(o *callOptions) { o.alwaysText = true }

// call is the one way a client subcommand talks to the gateway: it dials with f (TLS, token,
// --timeout), runs do on the connection and prints the response on cmd's output, as
// protobuf JSON with -o json (for scripts) and with text otherwise. text runs while the
// connection is still open, so a rendering may call again with what do captured. A gRPC
// error, from do or from text, is returned as the server's "message (Code)", which main
// prints before exiting 3.
func call[Resp proto.Message](cmd *cobra.Command, f *clientFlags, do func(context.Context, *grpc.ClientConn) (Resp, error),
	text func(io.Writer, Resp) error, opts ...callOption,
) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, conn, done, err := f.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	resp, err := do(ctx, conn)
	if err != nil {
		return callErr(err)
	}
	if f.output == outputJSON && !o.alwaysText {
		return printJSON(cmd.OutOrStdout(), resp)
	}
	return callErr(text(cmd.OutOrStdout(), resp))
}

// callErr turns a gRPC error into the server's message and code; other errors pass as they
// are.
func callErr(err error) error {
	if err == nil {
		return nil
	}
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

// resultCode ends the command with a result's exit code (1 or 2, see [exitError]) after its
// output was printed.
type resultCode struct {
	code int
	msg  string
}

func (e resultCode) Error() string { return e.msg }

// printf is how every text rendering of the CLI writes: fmt.Fprintf, but every argument that
// is a string (or a string type, or a fmt.Stringer) is passed through [printable] first, so
// text from the server or a file (subjects, reasons, finding paths and messages, schema text)
// cannot move the cursor, clear the screen or forge table rows. The format is ours and is
// written as it is.
func printf(w io.Writer, format string, args ...any) error {
	safe := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case fmt.Stringer:
			safe[i] = printable(v.String())
		default:
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				safe[i] = printable(rv.String())
			} else {
				safe[i] = a
			}
		}
	}
	_, err := fmt.Fprintf(w, format, safe...)
	return err
}

// printable returns s with every rune a terminal would not print as text escaped as Go
// escapes it in a quoted string: control characters (\x1b, \r, \n, \t, \x7f, C1), other
// unprintable runes such as bidirectional overrides (\u202e), and bytes that are not UTF-8
// (\xff). Printable text, non-ASCII letters included, is left as it is.
func printable(s string) string { return escapeUnprintable(s, false) }

// printableLines is [printable] for a multi-line document (the governance document, an error
// message): it keeps newlines and tabs.
func printableLines(s string) string { return escapeUnprintable(s, true) }

func escapeUnprintable(s string, keepLines bool) string {
	keep := func(r rune) bool { return strconv.IsPrint(r) || keepLines && (r == '\n' || r == '\t') }
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !keep(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keep(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// newTable returns the tab writer every table of the CLI is aligned with; Flush prints it.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// formatTime prints a timestamp in UTC to the second.
func formatTime(ts *timestamppb.Timestamp) string {
	return ts.AsTime().UTC().Format("2006-01-02T15:04:05Z")
}

// readFile reads the file a --file flag names, standard input for "-"; what names the file
// (payload, schema) in the error.
func readFile(what, path string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return string(b), nil
}
