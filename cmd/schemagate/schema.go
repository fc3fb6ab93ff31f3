package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// `schemagate schema register` and `schemagate schema get`.

func newSchemaCmd(f *clientFlags) *cobra.Command {
	return f.group("schema", "Register and read schemas",
		newSchemaRegisterCmd(f), newSchemaGetCmd(f))
}

func newSchemaRegisterCmd(f *clientFlags) *cobra.Command {
	var typ, file string
	cmd := &cobra.Command{
		Use:   "register SUBJECT --type AVRO|JSON --file FILE",
		Short: "Register a schema under a subject (FILE - reads standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := registerRequest(cmd, args[0], typ, file)
			if err != nil {
				return err
			}
			return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.RegisterSchemaResponse, error) {
				return pb.NewRegistryServiceClient(conn).RegisterSchema(ctx, req)
			}, printRegistered)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "AVRO", "schema type: AVRO, JSON or PROTOBUF")
	cmd.Flags().StringVar(&file, "file", "", "schema file (- for standard input)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// registerRequest checks --type and reads --file.
func registerRequest(cmd *cobra.Command, subject, typ, file string) (*pb.RegisterSchemaRequest, error) {
	st, err := parseSchemaType(typ)
	if err != nil {
		return nil, err
	}
	text, err := readFile("schema", file, cmd.InOrStdin())
	if err != nil {
		return nil, err
	}
	return &pb.RegisterSchemaRequest{Subject: subject, SchemaType: st, Schema: text}, nil
}

func parseSchemaType(s string) (pb.SchemaType, error) {
	switch strings.ToUpper(s) {
	case "AVRO":
		return pb.SchemaType_SCHEMA_TYPE_AVRO, nil
	case "JSON":
		return pb.SchemaType_SCHEMA_TYPE_JSON, nil
	case "PROTOBUF":
		return pb.SchemaType_SCHEMA_TYPE_PROTOBUF, nil
	default:
		return 0, fmt.Errorf("--type %q: want AVRO, JSON or PROTOBUF", s)
	}
}

func printRegistered(w io.Writer, resp *pb.RegisterSchemaResponse) error {
	err := printf(w, "registered %s version %d, schema ID %d\n", resp.GetSubject(), resp.GetVersion(), resp.GetId())
	return err
}

func newSchemaGetCmd(f *clientFlags) *cobra.Command {
	var id int32
	cmd := &cobra.Command{
		Use:   "get (--id N | SUBJECT [VERSION])",
		Short: "Print a schema by global ID, or a subject version (latest by default)",
		Args:  schemaGetArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("id") {
				return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.GetSchemaResponse, error) {
					return pb.NewRegistryServiceClient(conn).GetSchema(ctx, &pb.GetSchemaRequest{Id: id})
				}, printSchemaByID)
			}
			return getSubjectVersion(cmd, f, args)
		},
	}
	cmd.Flags().Int32Var(&id, "id", 0, "global schema ID")
	return cmd
}

// getSubjectVersion prints SUBJECT [VERSION], the latest version by default.
func getSubjectVersion(cmd *cobra.Command, f *clientFlags, args []string) error {
	req := &pb.GetSubjectVersionRequest{Subject: args[0], Version: "latest"}
	if len(args) == 2 {
		req.Version = args[1]
	}
	return call(cmd, f, func(ctx context.Context, conn *grpc.ClientConn) (*pb.GetSubjectVersionResponse, error) {
		return pb.NewRegistryServiceClient(conn).GetSubjectVersion(ctx, req)
	}, printSubjectVersion)
}

// schemaGetArgs takes either --id or SUBJECT [VERSION].
func schemaGetArgs(cmd *cobra.Command, args []string) error {
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
}

func printSchemaByID(w io.Writer, resp *pb.GetSchemaResponse) error {
	return printSchema(w, resp.GetSchema())
}

func printSubjectVersion(w io.Writer, resp *pb.GetSubjectVersionResponse) error {
	v := resp.GetVersion()
	if err := printf(w, "subject: %s\nversion: %d\n", v.GetSubject(), v.GetVersion()); err != nil {
		return err
	}
	return printSchema(w, v.GetSchema())
}

func printSchema(w io.Writer, s *pb.Schema) error {
	typ, err := gateway.SchemaTypeFromProto(s.GetSchemaType())
	if err != nil {
		return err
	}
	err = printf(w, "id: %d\ntype: %s\n", s.GetId(), typ)
	for _, r := range s.GetReferences() {
		if err == nil {
			err = printf(w, "reference: %s -> %s version %d\n", r.GetName(), r.GetSubject(), r.GetVersion())
		}
	}
	if err == nil {
		err = printf(w, "schema: %s\n", s.GetSchema())
	}
	return err
}
