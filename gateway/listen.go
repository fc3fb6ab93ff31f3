package gateway

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// isLoopback reports whether addr (host:port) can only be reached from this machine: an IP in
// 127.0.0.0/8 or ::1, or the name localhost. An empty host ("":8081) binds every interface and
// is not loopback.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// A host name other than localhost may resolve to any interface.
		return false, nil
	}
	return ip.IsLoopback(), nil
}

// checkOpenListen refuses non-loopback addresses when no principals are configured: an open
// gateway on a shared network would let anybody register and delete schemas.
func checkOpenListen(addrs ...string) error {
	for _, addr := range addrs {
		ok, err := isLoopback(addr)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("refusing to listen on %s without authentication: configure auth.principals "+
				"(see README, Authentication) or listen on a loopback address such as 127.0.0.1", addr)
		}
	}
	return nil
}

// perIPListener is a listener that closes, as soon as it accepts it, a connection from an IP
// address that already has max connections open (server.grpc_max_conns_per_ip), so one client
// cannot hold every connection (and the memory of each) of the gRPC server. Connections whose
// address has no IP (Unix sockets) are not counted.
type perIPListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[netip.Addr]int
	// refused counts the connections closed for being over the limit.
	refused atomic.Int64
}

// limitPerIP wraps l so that it keeps at most max connections open per remote IP.
func limitPerIP(l net.Listener, max int) *perIPListener {
	return &perIPListener{Listener: l, max: max, open: make(map[netip.Addr]int)}
}

// Accept returns the next connection whose IP is under the limit, closing the others.
func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil
		}
		ip := ap.Addr().Unmap()
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

// release forgets one connection of ip.
func (l *perIPListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// countedConn is a connection counted by a perIPListener until it is closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and, the first time, releases its count.
func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
