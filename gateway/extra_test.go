package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

func TestReflectionListsServices(t *testing.T) {
	tg := startGateway(t, nil)
	stream, err := reflectionpb.NewServerReflectionClient(tg.conn).ServerReflectionInfo(withToken(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	slices.Sort(got)
	want := []string{
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
		"schemagate.v1.GovernanceService", "schemagate.v1.RegistryService", "schemagate.v1.ValidationService",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reflected services (-want +got):\n%s", diff)
	}
}

func TestReadyzReportsStoreDown(t *testing.T) {
	tg := startGateway(t, nil)
	if err := tg.g.db.Close(); err != nil {
		t.Fatal(err)
	}
	code, body := tg.httpDo(t, "GET", "/readyz", "", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Errorf("/readyz with the store closed = %d %s; want 503 store unreachable", code, body)
	}
	if code, _ := tg.httpDo(t, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("/healthz with the store closed = %d; want 200 (the process is up)", code)
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1", "latest", "-1", "0", "2147483648", "01", " 1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVersion(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid version") {
				t.Errorf("parseVersion(%q) error %v lacks 'invalid version'", s, err)
			}
			return
		}
		if v != -1 && v < 1 {
			t.Errorf("parseVersion(%q) = %d; want -1 or a positive version", s, v)
		}
	})
}
