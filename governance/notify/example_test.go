package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/schemagate/schemagate/governance/notify"
)

// A drift finding raised on the hot path reaches Alertmanager once, however
// often it is raised.
func Example() {
	got := make(chan []byte, 10)
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer am.Close()

	n, err := notify.New(notify.Options{Receivers: notify.Receivers{AlertmanagerURL: am.URL}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()

	for range 3 {
		n.Raise(notify.Alert{
			Name: "SchemaDrift", Subject: "orders-value", Kind: "unknown_field",
			Severity: "critical", Team: "payments",
		})
	}
	var alerts []struct {
		Labels map[string]string `json:"labels"`
	}
	_ = json.Unmarshal(<-got, &alerts)
	labels, _ := json.Marshal(alerts[0].Labels)
	fmt.Println(string(labels))

	cancel()
	fmt.Println("run:", <-done, "pending:", len(got))
	// Output:
	// {"alertname":"SchemaDrift","kind":"unknown_field","severity":"critical","subject":"orders-value","team":"payments"}
	// run: <nil> pending: 0
}
