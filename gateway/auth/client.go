package auth

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// RetryAfterMetadataKey is the gRPC trailer that carries, in whole seconds,
// how long a client refused for too many failed authentications must wait
// (the HTTP Retry-After header of the /v1 API is made from it).
const RetryAfterMetadataKey = "retry-after"

// Metadata keys by which the HTTP/JSON gateway tells the gRPC server, over
// the in-process connection only, who the HTTP client is. See
// GatewayMetadata.
const (
	reservedMetadataPrefix = "schemagate-client-"
	mdClientAddr           = reservedMetadataPrefix + "addr"
	mdClientCert           = reservedMetadataPrefix + "cert-bin" // -bin: JSON of a ClientCert, names in any UTF-8
	// mdClientPrincipal carries the principal of a console session (JSON of a Principal):
	// the console signed it in, so the call runs as that principal without credentials.
	mdClientPrincipal = reservedMetadataPrefix + "principal-bin"
)

// ReservedMetadataKey reports whether key (any case) is a metadata key
// that only the gateway itself may set. The HTTP/JSON gateway must never
// forward a client's header under such a key; the gRPC server reads them
// only on in-process connections and ignores them from anybody else.
func ReservedMetadataKey(key string) bool {
	return strings.HasPrefix(strings.ToLower(key), reservedMetadataPrefix)
}

// GatewayMetadata is a grpc-gateway metadata annotator
// (runtime.WithMetadata): it passes the HTTP client's address and the
// names of its verified TLS client certificate (a ClientCert as JSON; empty
// without one) to the gRPC server, which trusts them only on connections
// accepted from an InProcessListener. Both come from the connection
// (r.RemoteAddr and r.TLS), never from headers; annotator values replace
// any header value under the same key, and every key is always set: the
// session principal (see SessionMetadata) is always empty here, so an HTTP
// client can never name one.
func GatewayMetadata(_ context.Context, r *http.Request) metadata.MD {
	return clientMetadata(r, "")
}

// SessionMetadata is the metadata with which the console calls the gRPC
// services, over the in-process connection only, on behalf of p, the
// principal of a session it signed in: r's address and verified client
// certificate as in GatewayMetadata, and p (name, roles, subject grants)
// in place of credentials. The interceptors then authorize the call
// exactly as they would a call p made with its own credentials. Send it
// on no other connection: elsewhere it is ignored, and the call has no
// credentials.
func SessionMetadata(r *http.Request, p Principal) metadata.MD {
	b, _ := json.Marshal(p) // strings only: cannot fail
	return clientMetadata(r, string(b))
}

// clientMetadata is the reserved metadata describing the client of r, with
// principal ("" for none) as the session principal.
func clientMetadata(r *http.Request, principal string) metadata.MD {
	cert := ""
	if c := verifiedCert(r.TLS); c != nil {
		b, _ := json.Marshal(c) // strings only: cannot fail
		cert = string(b)
	}
	return metadata.Pairs(mdClientAddr, r.RemoteAddr, mdClientCert, cert, mdClientPrincipal, principal)
}

// InProcessListener wraps the listener that serves the HTTP/JSON gateway's
// in-process gRPC connection. Connections it accepts skip the TLS
// handshake of ServerCredentials and are marked in-process, which is what
// lets the interceptors trust GatewayMetadata on them. Never wrap a
// listener that a remote caller can reach.
func InProcessListener(l net.Listener) net.Listener { return inProcessListener{l} }

type inProcessListener struct{ net.Listener }

func (l inProcessListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return inProcessConn{c}, nil
}

// inProcessConn is a connection accepted by an InProcessListener.
type inProcessConn struct{ net.Conn }

// inProcessInfo is the AuthInfo of an in-process connection.
type inProcessInfo struct{ credentials.CommonAuthInfo }

// AuthType names the in-process transport.
func (inProcessInfo) AuthType() string { return "schemagate-in-process" }

// ServerCredentials returns the transport credentials of the gateway's gRPC
// server: TLS with cfg (which should require TLS 1.2 or later and, for
// client certificates, verify them against a CA) or plaintext when cfg is
// nil. Connections from an InProcessListener are passed through without a
// handshake and marked in-process.
func ServerCredentials(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return serverCreds{base: insecure.NewCredentials()}
	}
	return serverCreds{base: credentials.NewTLS(cfg)}
}

type serverCreds struct {
	base credentials.TransportCredentials
}

func (c serverCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if _, ok := conn.(inProcessConn); ok {
		return conn, inProcessInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
	}
	return c.base.ServerHandshake(conn)
}

func (c serverCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("auth: server credentials cannot be used to dial")
}

func (c serverCreds) Info() credentials.ProtocolInfo { return c.base.Info() }

func (c serverCreds) Clone() credentials.TransportCredentials {
	return serverCreds{base: c.base.Clone()}
}

// OverrideServerName is part of the interface; gRPC no longer calls it.
func (c serverCreds) OverrideServerName(string) error { return nil }

// client is what the gateway knows of a caller besides its credentials.
type client struct {
	transport string      // TransportGRPC or TransportHTTP
	addr      string      // for logs
	key       string      // failure-limit key (see clientKey)
	cert      *ClientCert // a verified client certificate, or nil
	principal *Principal  // a console session's principal (in-process only), or nil
}

// InProcess reports whether the gRPC call of ctx came over the HTTP/JSON
// gateway's in-process connection (an InProcessListener).
func InProcess(ctx context.Context) bool {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	_, ok = pr.AuthInfo.(inProcessInfo)
	return ok
}

// grpcClient describes the caller of a gRPC call. On an in-process
// connection the caller is the HTTP client that GatewayMetadata describes;
// a reserved key missing or repeated there is a bug in the gateway and an
// error. Elsewhere reserved metadata is ignored: the address, the
// certificate and the principal come from the connection and credentials.
func grpcClient(ctx context.Context) (client, error) {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return client{transport: TransportGRPC, key: "unknown peer"}, nil
	}
	if _, ok := pr.AuthInfo.(inProcessInfo); ok {
		md, _ := metadata.FromIncomingContext(ctx)
		addrs, certs, principals := md.Get(mdClientAddr), md.Get(mdClientCert), md.Get(mdClientPrincipal)
		if len(addrs) != 1 || len(certs) > 1 || len(principals) > 1 {
			return client{}, fmt.Errorf("in-process call with %d client addresses, %d certificates and %d principals; want 1, at most 1 and at most 1",
				len(addrs), len(certs), len(principals))
		}
		ap, err := netip.ParseAddrPort(addrs[0])
		if err != nil {
			return client{}, fmt.Errorf("in-process call with an unparseable client address: %w", err)
		}
		c := client{transport: TransportHTTP, addr: addrs[0], key: clientKey(ap.Addr())}
		if len(certs) == 1 && certs[0] != "" {
			c.cert = new(ClientCert)
			if err := json.Unmarshal([]byte(certs[0]), c.cert); err != nil {
				return client{}, fmt.Errorf("in-process call with an unreadable client certificate: %w", err)
			}
		}
		if len(principals) == 1 && principals[0] != "" {
			c.principal = new(Principal)
			if err := json.Unmarshal([]byte(principals[0]), c.principal); err != nil || c.principal.Name == "" {
				return client{}, fmt.Errorf("in-process call with an unreadable session principal: %v", err)
			}
		}
		return c, nil
	}
	c := client{transport: TransportGRPC}
	if pr.Addr != nil {
		c.addr = pr.Addr.String()
		c.key = addrKey(pr.Addr.Network(), c.addr)
	}
	if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
		c.cert = verifiedCert(&ti.State)
	}
	return c, nil
}

// httpClient describes the sender of an HTTP request, from its connection.
func httpClient(r *http.Request) client {
	return client{transport: TransportHTTP, addr: r.RemoteAddr, key: addrKey("tcp", r.RemoteAddr), cert: verifiedCert(r.TLS)}
}

// addrKey is the failure-limit key of a network address: clientKey of its
// IP, or the address itself when it has none (a Unix socket, a test
// listener).
func addrKey(network, addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return clientKey(ap.Addr())
	}
	return network + ":" + addr
}

// verifiedCert returns the names of the client certificate that the
// handshake verified, or nil when none was (certificates that were
// presented but not verified are never used).
func verifiedCert(state *tls.ConnectionState) *ClientCert {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return nil
	}
	return NewClientCert(state.VerifiedChains[0][0])
}

// check is the authentication step shared by the interceptors and the HTTP
// middleware. A client over the failure limit is refused before its
// credentials are looked at (ErrTooManyFailures, a *retryError). A password
// check (bcrypt) first reserves an attempt of the client's limit, so that
// concurrent guesses cannot overrun it, then runs within the password gate
// (refusals: ErrTooManyFailures for the client's share, ErrBusy for the
// gateway's); a failure turns the reservation into a counted failure. Any
// other check is cheap and decided first, then recorded against the limit
// atomically, so a client that went over the limit meanwhile is refused
// even with right credentials. Failures are counted in the metrics and,
// unless no credentials were sent at all, against the client's limit.
func (a *Authenticator) check(ctx context.Context, c client, authorization string) (Principal, error) {
	set := a.set.Load()
	if len(set.byName) == 0 {
		return Anonymous(), nil
	}
	if wait := a.limit.retryAfter(c.key); wait > 0 {
		return Principal{}, a.refused(c, errRateLimited(wait))
	}
	p, pc, err := a.credentials(ctx, set, Credentials{Authorization: authorization, ClientCert: c.cert})
	var fl *passwordFlight
	if pc != nil && pc.p != nil {
		// A known user's password: requests that send the same one while it is being checked
		// wait for that check's answer. They run no bcrypt and take no attempt of the limit:
		// a credential sent many times at once is one attempt (a producer's threads starting
		// up), right or wrong.
		var first bool
		if fl, first = a.flights.join(pc.cacheKey); !first {
			p, err = fl.wait(ctx)
			return p, a.counted(c, err)
		}
	}
	if pc != nil {
		if wait := a.limit.reserve(c.key); wait > 0 {
			err := a.refused(c, errRateLimited(wait))
			if fl != nil {
				a.flights.finish(pc.cacheKey, fl, Principal{}, err)
			}
			return Principal{}, err
		}
		p, err = a.checkPassword(ctx, pc, c.key)
		a.limit.settle(c.key, errors.Is(err, ErrBadCredentials))
		if fl != nil {
			a.flights.finish(pc.cacheKey, fl, p, err)
		}
	} else if wait := a.limit.record(c.key, err != nil && !errors.Is(err, ErrNoCredentials)); wait > 0 {
		return Principal{}, a.refused(c, errRateLimited(wait))
	}
	if err != nil {
		return Principal{}, a.counted(c, err)
	}
	return p, nil
}

// counted counts the refusal err of client c in the metrics by its reason and returns it; nil
// counts nothing.
func (a *Authenticator) counted(c client, err error) error {
	switch {
	case err == nil, errors.Is(err, ErrBusy):
	case errors.Is(err, ErrTooManyFailures):
		a.metrics.failures.WithLabelValues(c.transport, reasonRateLimited).Inc()
	case errors.Is(err, ErrNoCredentials):
		a.metrics.failures.WithLabelValues(c.transport, reasonNoCredentials).Inc()
	default:
		a.metrics.failures.WithLabelValues(c.transport, reasonBadCredentials).Inc()
	}
	return err
}

// refused counts the refusal of client c for the failure limit and returns it.
func (a *Authenticator) refused(c client, err *retryError) error {
	a.metrics.failures.WithLabelValues(c.transport, reasonRateLimited).Inc()
	return err
}
