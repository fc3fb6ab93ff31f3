package main

import (
	"bytes"
	"testing"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/validate"
)

// TestFlagValuesRefuseWithTheirOwnMessage: -o and --kind check their values when the command
// line is parsed, before any connection, and say so in their own words.
func TestFlagValuesRefuseWithTheirOwnMessage(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"subjects", "list", "-o", "yaml"}, "schemagate: -o \"yaml\": want text or json\n"},
		{[]string{"governance", "status", "--output=JSON"}, "schemagate: -o \"JSON\": want text or json\n"},
		{[]string{"drift", "inject", "s", "--kind", "bogus"}, "schemagate: --kind \"bogus\": want a drift kind such as type_mismatch or missing_field\n"},
		{[]string{"validate", "s", "--file", "-", "--version", "x"}, "schemagate: invalid argument \"x\" for \"--version\" flag: strconv.ParseInt: parsing \"x\": invalid syntax\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append(tt.args, "--server", "127.0.0.1:1"), &stdout, &stderr, noEnv); code != exitError || stderr.String() != tt.want || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 3 and %q", tt.args, code, stdout.String(), stderr.String(), tt.want)
		}
	}
}

// TestDriftKindFlag: --kind takes every drift kind by its name, in any case, and sends its
// protobuf value; without --kind (or with "") the server picks the kind.
func TestDriftKindFlag(t *testing.T) {
	var none driftKind
	if err := none.Set(""); err != nil || none.proto() != pb.DriftKind_DRIFT_KIND_UNSPECIFIED {
		t.Errorf(`Set("") = %v, proto %v; want UNSPECIFIED`, err, none.proto())
	}
	for _, k := range validate.Kinds() {
		for _, name := range []string{k.String(), string(bytes.ToUpper([]byte(k.String())))} {
			var d driftKind
			if err := d.Set(name); err != nil {
				t.Errorf("Set(%q): %v", name, err)
				continue
			}
			if got := gateway.DriftKindFromProto(d.proto()); got != k {
				t.Errorf("--kind %s sends %v, which reads back as %q", name, d.proto(), got)
			}
		}
	}
}
