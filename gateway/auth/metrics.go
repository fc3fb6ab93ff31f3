package auth

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Transports and reasons of schemagate_auth_failures_total.
const (
	// TransportGRPC labels calls on the gRPC port.
	TransportGRPC = "grpc"
	// TransportHTTP labels requests on the HTTP port: the Confluent REST
	// API and the /v1 HTTP/JSON API.
	TransportHTTP = "http"

	reasonNoCredentials  = "no_credentials"
	reasonBadCredentials = "bad_credentials"
	reasonRateLimited    = "rate_limited"

	passwordOK         = "ok"
	passwordFailed     = "failed"
	passwordClientBusy = "client_busy"
	passwordBusy       = "busy"
)

// metrics holds the authenticator's Prometheus metrics.
type metrics struct {
	failures       *prometheus.CounterVec
	passwordChecks *prometheus.CounterVec
}

// newMetrics builds the metrics and registers them with reg (nil: nowhere).
// Every transport and reason starts at zero, so a dashboard sees the
// series before the first failure.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schemagate_auth_failures_total",
		Help: "Requests refused before authorization, by transport (grpc, http) and reason: no_credentials, bad_credentials (wrong, unknown or malformed credentials, unknown certificate), rate_limited (too many failed authentications from the client).",
	}, []string{"transport", "reason"}),
		passwordChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "schemagate_auth_password_checks_total",
			Help: "Password (bcrypt) checks of basic credentials that are not cached, by result: ok, failed, or refused without running: client_busy (the client already ran its share at once), busy (auth.max_concurrent_password_checks were running).",
		}, []string{"result"}),
	}
	for _, r := range []string{passwordOK, passwordFailed, passwordClientBusy, passwordBusy} {
		m.passwordChecks.WithLabelValues(r)
	}
	for _, t := range []string{TransportGRPC, TransportHTTP} {
		for _, r := range []string{reasonNoCredentials, reasonBadCredentials, reasonRateLimited} {
			m.failures.WithLabelValues(t, r)
		}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.failures, m.passwordChecks} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("auth: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
