package gateway

import (
	"fmt"
	"net"
	"net/netip"
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
