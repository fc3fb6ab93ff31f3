package main

import (
	be "encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/tests/harness"
)

// TestValidateCLI runs `schemagate validate` and `schemagate drift report` against the real
// server: exit 0 valid, 1 flagged (canary), 2 rejected (strict), findings printed.
func TestValidateCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	userSchema := `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}`
	body, err := avro.Marshal(avro.MustParse(userSchema), map[string]any{"name": "ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{0, 0, 0, 0, 0}
	be.BigEndian.PutUint32(frame[1:], 1)
	framedFile := write("user.bin", string(append(frame, body...)))
	truncatedFile := write("short.bin", string(append(frame, body[:len(body)-1]...)))
	validJSON := write("ok.json", `{"name":"ada","age":36}`)
	bomJSON := write("bom.json", "\xef\xbb\xbf\n  "+`{"name":"ada","age":36}`)
	rawAvro := write("user.avro", string(body))
	invalidJSON := write("bad.json", `{"name":"ada","age":"old","email":"a@b"}`)

	for _, tt := range []struct {
		mode         string
		file, format string
		wantExit     int
		wantOut      []string
	}{
		{"canary", framedFile, "", 0, []string{"VALID (mode canary, schema ID 1, version 1)"}},
		{"canary", validJSON, "", 0, []string{"VALID"}},
		{"canary", bomJSON, "", 0, []string{"VALID (mode canary"}},
		{"strict", bomJSON, "", 0, []string{"VALID (mode strict"}},
		{"canary", rawAvro, "AVRO_BINARY", 0, []string{"VALID (mode canary"}},
		{"canary", invalidJSON, "", 1, []string{"FLAGGED (mode canary", "type_mismatch", "/age", "unknown_field", "/email"}},
		{"canary", truncatedFile, "CONFLUENT", 1, []string{"FLAGGED", "decode_error"}},
		{"strict", invalidJSON, "AVRO_JSON", 2, []string{"REJECTED (mode strict", "type_mismatch", "/age"}},
		{"strict", validJSON, "", 0, []string{"VALID (mode strict"}},
	} {
		t.Run(tt.mode+" "+filepath.Base(tt.file), func(t *testing.T) {
			runValidate(t, serverInMode(t, tt.mode), "users-value", tt.file, tt.format, tt.wantExit, tt.wantOut)
		})
	}

	s := serverInMode(t, "canary")
	for range 2 {
		harness.Run(t, nil, "validate", "users-value", "--file", invalidJSON, "--server", s.GRPCAddr)
	}
	out, errOut, exit := harness.Run(t, nil, "drift", "report", "users-value", "--server", s.GRPCAddr)
	if exit != 0 || !strings.Contains(out, "type_mismatch") || !strings.Contains(out, "/age") || !strings.Contains(out, "  2  ") {
		t.Errorf("drift report: exit %d, stdout %q, stderr %q; want the two type_mismatch findings at /age", exit, out, errOut)
	}
}

// TestValidateCLIProtobuf runs `schemagate validate` on Protobuf payloads against the real
// server: a Confluent frame and a JSON file sniffed, raw binary with --format PROTOBUF and
// --message, Protobuf JSON with findings, and a message the schema does not declare (an error,
// exit 3, not a verdict).
func TestValidateCLIProtobuf(t *testing.T) {
	s := serverInMode(t, "canary")
	registerREST(t, s, "orders-value", map[string]string{"schemaType": "PROTOBUF",
		"schema": `syntax = "proto3"; package shop; message Order { string id = 1; int64 cents = 2; } message Refund { string order_id = 1; }`})
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	order := []byte{0x0a, 2, 'o', '1', 0x10, 0xfa, 0x01} // id "o1", cents 250
	framed := write("order.bin", append([]byte{0, 0, 0, 0, 2, 0}, order...))
	raw := write("order.pb", order)
	orderJSON := write("order.json", []byte(`{"id":"o1","cents":"9007199254740993"}`))
	badJSON := write("bad.json", []byte(`{"id":5,"total":1}`))
	for _, tt := range []struct {
		name, file, format string
		extra              []string
		wantExit           int
		wantOut            []string
	}{
		{"framed, sniffed", framed, "", nil, exitValid, []string{"VALID (mode canary, schema ID 2, version 1)"}},
		{"raw, first message", raw, "PROTOBUF", nil, exitValid, []string{"VALID (mode canary, schema ID 2"}},
		{"raw, read as a Refund", raw, "PROTOBUF", []string{"--message", "shop.Refund"}, exitFlagged, []string{"FLAGGED", "unknown_field"}},
		{"JSON, sniffed", orderJSON, "", nil, exitValid, []string{"VALID (mode canary"}},
		{"JSON with findings", badJSON, "PROTOBUF_JSON", []string{"--message", "shop.Order"}, exitFlagged,
			[]string{"FLAGGED", "type_mismatch", "/id", "unknown_field", "/total"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runValidate(t, s, "orders-value", tt.file, tt.format, tt.wantExit, tt.wantOut, tt.extra...)
		})
	}
	out, errOut, exit := harness.Run(t, nil, "validate", "orders-value", "--file", raw, "--format", "PROTOBUF", "--message", "shop.Nope", "--server", s.GRPCAddr)
	if exit != exitError || out != "" || !strings.Contains(errOut, `no message "shop.Nope" in the schema`) {
		t.Errorf("unknown message: exit %d, stdout %q, stderr %q; want exit 3 naming the message", exit, out, errOut)
	}
}

// TestValidateCLINumbersStayExact runs `schemagate validate` with files whose numbers a double
// cannot hold, against a JSON Schema whose maximum is 2^53: the CLI sends the file as text, so
// 9007199254740993 is over the maximum (flagged, quoted as written) and 9007199254740992 is at
// it, with --format JSON and without; an Avro long takes 2^53+1 as written.
func TestValidateCLINumbersStayExact(t *testing.T) {
	s := serverInMode(t, "canary")
	registerREST(t, s, "max-value", map[string]string{"schemaType": "JSON",
		"schema": `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`})
	registerREST(t, s, "ids-value", map[string]string{"schema": `{"type":"record","name":"Id","fields":[{"name":"id","type":"long"}]}`})
	dir := t.TempDir()
	for _, tt := range []struct {
		name, subject, payload, format string
		wantExit                       int
		wantOut                        []string
	}{
		{"2^53+1 over the maximum", "max-value", `{"n":9007199254740993}`, "JSON", exitFlagged,
			[]string{"FLAGGED (mode canary", "constraint_violation", "/n", "9007199254740993"}},
		{"2^53+1 over the maximum, format sniffed", "max-value", `{"n":9007199254740993}`, "", exitFlagged,
			[]string{"FLAGGED (mode canary", "constraint_violation", "9007199254740993"}},
		{"2^53 at the maximum", "max-value", `{"n":9007199254740992}`, "JSON", exitValid, []string{"VALID (mode canary"}},
		{"2^53+1 as an Avro long", "ids-value", `{"id":9007199254740993}`, "AVRO_JSON", exitValid, []string{"VALID (mode canary"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(file, []byte(tt.payload), 0o600); err != nil {
				t.Fatal(err)
			}
			runValidate(t, s, tt.subject, file, tt.format, tt.wantExit, tt.wantOut)
		})
	}
}

// runValidate runs `schemagate validate subject --file file [--format format] [extra...]`
// against s and fails unless it exits wantExit with every one of wantOut in its output.
func runValidate(t *testing.T, s *harness.Server, subject, file, format string, wantExit int, wantOut []string, extra ...string) {
	t.Helper()
	args := []string{"validate", subject, "--file", file, "--server", s.GRPCAddr}
	if format != "" {
		args = append(args, "--format", format)
	}
	args = append(args, extra...)
	out, errOut, exit := harness.Run(t, nil, args...)
	if exit != wantExit {
		t.Errorf("exit = %d; want %d (stdout %q, stderr %q)", exit, wantExit, out, errOut)
	}
	for _, w := range wantOut {
		if !strings.Contains(out, w) {
			t.Errorf("stdout %q lacks %q", out, w)
		}
	}
}

// serverInMode starts a server whose default validation mode is mode, with users-value
// registered (schema ID 1).
func serverInMode(t *testing.T, mode string) *harness.Server {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "schemagate.yaml")
	if err := os.WriteFile(cfg, []byte("schema_registry:\n  validation_mode: "+mode+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := harness.Start(t, harness.Options{ConfigFile: cfg})
	registerREST(t, s, "users-value", map[string]string{"schema": `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}`})
	return s
}

// registerREST registers body (schema, schemaType) under subject over s's Confluent REST API.
func registerREST(t *testing.T, s *harness.Server, subject string, body map[string]string) {
	t.Helper()
	if code, resp := postJSON(t, s.URL()+"/subjects/"+subject+"/versions", mustJSON(body)); code != 200 {
		t.Fatalf("register %s: %d %s", subject, code, resp)
	}
}

// TestValidateErrorsAreNotVerdicts: every error of `schemagate validate` exits 3, never 1
// (flagged) or 2 (rejected), and a missing file is named as the payload; `schema register`
// names its file as the schema.
func TestValidateErrorsAreNotVerdicts(t *testing.T) {
	s := serverInMode(t, "canary")
	payload := filepath.Join(t.TempDir(), "ok.json")
	if err := os.WriteFile(payload, []byte(`{"name":"ada","age":36}`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	malformed := filepath.Join(t.TempDir(), "malformed.json")
	if err := os.WriteFile(malformed, []byte(`{"name":"ada",}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"unreachable server", []string{"validate", "users-value", "--file", payload, "--server", harness.FreeAddr(t), "--timeout", "5s"}, "Unavailable"},
		{"unknown subject", []string{"validate", "nobody-value", "--file", payload, "--server", s.GRPCAddr}, "NotFound"},
		{"missing payload file", []string{"validate", "users-value", "--file", missing, "--server", s.GRPCAddr}, "read payload: open " + missing},
		{"no subject", []string{"validate", "--file", payload, "--server", s.GRPCAddr}, "accepts 1 arg(s), received 0"},
		{"no --file", []string{"validate", "users-value", "--server", s.GRPCAddr}, `required flag(s) "file" not set`},
		{"bad --format", []string{"validate", "users-value", "--file", payload, "--format", "XML", "--server", s.GRPCAddr}, `--format "XML"`},
		{"malformed JSON", []string{"validate", "users-value", "--file", malformed, "--server", s.GRPCAddr}, "payload: the file is not valid JSON"},
		{"missing schema file", []string{"schema", "register", "users-value", "--file", missing, "--server", s.GRPCAddr}, "read schema: open " + missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, exit := harness.Run(t, nil, tt.args...)
			if exit != exitError || out != "" || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 3, no output and %q", exit, out, errOut, tt.wantStderr)
			}
		})
	}
}

// TestValidateRequestSniffsTheFile: without --format a file that is JSON (after a byte order
// mark and blanks) is sent as JSON text (json_text, so its numbers stay exact), a Confluent frame as data, and anything else is refused
// with the --format it needs; an explicit --format is obeyed.
func TestValidateRequestSniffsTheFile(t *testing.T) {
	user := `{"name":"ada"}`
	frame := []byte{0, 0, 0, 0, 1, 6, 'a', 'd', 'a'}
	for _, tt := range []struct {
		name, raw, format string
		want              *pb.ValidateRequest
		wantErr           string
	}{
		{name: "JSON", raw: user, want: &pb.ValidateRequest{Subject: "s", JsonText: user}},
		{name: "JSON after a BOM and blanks", raw: "\xef\xbb\xbf \r\n\t" + user, want: &pb.ValidateRequest{Subject: "s", JsonText: " \r\n\t" + user}},
		{name: "JSON string", raw: `"ada"`, want: &pb.ValidateRequest{Subject: "s", JsonText: `"ada"`}},
		{name: "a number beyond 2^53 stays exact", raw: `{"id":9007199254740993}`, want: &pb.ValidateRequest{Subject: "s", JsonText: `{"id":9007199254740993}`}},
		{name: "Confluent frame", raw: string(frame), want: &pb.ValidateRequest{Subject: "s", Data: frame}},
		{name: "malformed JSON", raw: `{"name":"ada",}`, wantErr: "payload: the file is not valid JSON"},
		{name: "malformed JSON array", raw: ` [1,`, wantErr: "payload: the file is not valid JSON"},
		{name: "raw Avro", raw: "\x06ada", wantErr: "first byte is 0x06, not the magic byte 0): for raw Avro binary pass --format AVRO_BINARY"},
		{name: "empty", raw: "", wantErr: "payload: the file is empty"},
		{name: "raw Avro with --format", raw: "\x06ada", format: "avro_binary",
			want: &pb.ValidateRequest{Subject: "s", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_BINARY, Data: []byte("\x06ada")}},
		{name: "JSON sent as CONFLUENT", raw: `{}`, format: "CONFLUENT",
			want: &pb.ValidateRequest{Subject: "s", Format: pb.PayloadFormat_PAYLOAD_FORMAT_CONFLUENT, Data: []byte(`{}`)}},
		{name: "JSON with --format AVRO_JSON", raw: `{"name":"ada"}`, format: "AVRO_JSON",
			want: &pb.ValidateRequest{Subject: "s", Format: pb.PayloadFormat_PAYLOAD_FORMAT_AVRO_JSON, JsonText: user}},
		{name: "binary with --format JSON", raw: string(frame), format: "JSON", wantErr: "payload: the file is not valid JSON"},
		{name: "raw Protobuf", raw: "\x08\x07", wantErr: "for a raw Protobuf message --format PROTOBUF"},
		{name: "raw Protobuf with --format", raw: "\x08\x07", format: "protobuf",
			want: &pb.ValidateRequest{Subject: "s", Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF, Data: []byte("\x08\x07")}},
		{name: "JSON with --format PROTOBUF_JSON", raw: user, format: "PROTOBUF_JSON",
			want: &pb.ValidateRequest{Subject: "s", Format: pb.PayloadFormat_PAYLOAD_FORMAT_PROTOBUF_JSON, JsonText: user}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := validateRequest("s", []byte(tt.raw), tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}
