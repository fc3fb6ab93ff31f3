package confluent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// getLoop fetches url b.N times over one keep-alive client, checking the status.
func getLoop(b *testing.B, url string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d", url, resp.StatusCode)
		}
	}
}

// BenchmarkHTTPBaseline is the in-process baseline for BenchmarkGetSchemaByID: the same
// loopback HTTP round trip to a handler that writes a fixed body of the same size.
func BenchmarkHTTPBaseline(b *testing.B) {
	payload := []byte(`{"schema":"{\"name\":\"User\",\"type\":\"record\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		_, _ = w.Write(payload)
	}))
	defer srv.Close()
	getLoop(b, srv.URL+"/schemas/ids/1")
}

// BenchmarkGetSchemaByID is GET /schemas/ids/{id} with the schema registered and read before
// (a warm cache), over loopback HTTP.
func BenchmarkGetSchemaByID(b *testing.B) {
	srv := newBenchServer(b)
	resp, err := http.Post(srv.URL+"/subjects/bench/versions", ContentType, stringsReader(body(userV1)))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	getLoop(b, srv.URL+"/schemas/ids/1")
}
