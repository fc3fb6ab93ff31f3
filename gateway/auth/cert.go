package auth

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
)

// ClientCert holds the names of a TLS client certificate that the
// handshake verified against tls.client_ca_file: what principals are
// matched by (see AuthenticateCredentials).
type ClientCert struct {
	// CommonNames are every Common Name attribute of the Subject, in
	// order. A certificate with more than one is refused: which of them
	// names the holder is a matter of interpretation (Go's
	// Subject.CommonName is the last one, other tools read the first).
	CommonNames []string `json:"cn,omitempty"`
	// URIs are the URI subject alternative names (a SPIFFE ID, say).
	URIs []string `json:"uri,omitempty"`
	// DNSNames are the DNS subject alternative names.
	DNSNames []string `json:"dns,omitempty"`
	// Issuer is the issuer's distinguished name in RFC 2253 form, as
	// pkix.Name.String writes it ("CN=Internal CA,O=Example"; the form of
	// `openssl x509 -noout -issuer -nameopt RFC2253`).
	Issuer string `json:"issuer,omitempty"`
}

// oidCommonName is the attribute type of a Subject Common Name.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// NewClientCert reads the names of cert.
func NewClientCert(cert *x509.Certificate) *ClientCert {
	c := &ClientCert{DNSNames: slices.Clone(cert.DNSNames), Issuer: cert.Issuer.String()}
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			c.CommonNames = append(c.CommonNames, fmt.Sprint(atv.Value))
		}
	}
	for _, u := range cert.URIs {
		c.URIs = append(c.URIs, u.String())
	}
	return c
}

// The refusals of a client certificate; each wraps ErrBadCredentials.
var (
	errUnknownCert     = fmt.Errorf("%w: the client certificate matches no principal (by common name, URI or DNS subject alternative name, and issuer)", ErrBadCredentials)
	errAmbiguousCert   = fmt.Errorf("%w: the client certificate matches more than one principal; each certificate must name exactly one", ErrBadCredentials)
	errManyCommonNames = fmt.Errorf("%w: the client certificate has more than one subject common name; at most one is accepted", ErrBadCredentials)
)

// certMatch is how a principal is matched by client certificate; the zero
// value matches nothing.
type certMatch struct {
	cn, uri, dns string // "" when not configured; dns is lower case
	issuer       string // the issuer a matching certificate must have, or "" for any
}

// any reports whether a certificate can authenticate the principal at all.
func (m certMatch) any() bool { return m.cn != "" || m.uri != "" || m.dns != "" }

// certIndex finds principals by the names of a client certificate.
type certIndex struct {
	byCN, byURI, byDNS map[string]*principal
}

func newCertIndex() certIndex {
	return certIndex{byCN: map[string]*principal{}, byURI: map[string]*principal{}, byDNS: map[string]*principal{}}
}

// add indexes p; it returns an error naming the key another principal
// already uses.
func (x certIndex) add(p *principal) error {
	keys := []struct {
		key, value string
		index      map[string]*principal
	}{{"client_cert_cn", p.cert.cn, x.byCN}, {"client_cert_uri_san", p.cert.uri, x.byURI}, {"client_cert_dns_san", p.cert.dns, x.byDNS}}
	for _, k := range keys {
		if other, dup := k.index[k.value]; dup && k.value != "" {
			return fmt.Errorf("%w: principals %q and %q have the same %s", ErrInvalidConfig, other.name, p.name, k.key)
		}
	}
	for _, k := range keys {
		if k.value != "" {
			k.index[k.value] = p
		}
	}
	return nil
}

// match returns the one principal that c names: by its common name (when
// it has exactly one), by any of its URI or DNS subject alternative names,
// and only principals whose client_cert_issuer, when set, is c's issuer.
// A certificate with several common names, or that names no principal or
// more than one, is refused.
func (x certIndex) match(c *ClientCert) (*principal, error) {
	if len(c.CommonNames) > 1 {
		return nil, errManyCommonNames
	}
	var found []*principal
	add := func(p *principal) {
		if p != nil && (p.cert.issuer == "" || p.cert.issuer == c.Issuer) && !slices.Contains(found, p) {
			found = append(found, p)
		}
	}
	for _, cn := range c.CommonNames {
		add(x.byCN[cn])
	}
	for _, u := range c.URIs {
		add(x.byURI[u])
	}
	for _, d := range c.DNSNames {
		add(x.byDNS[strings.ToLower(d)])
	}
	switch len(found) {
	case 0:
		return nil, errUnknownCert
	case 1:
		return found[0], nil
	}
	return nil, errAmbiguousCert
}
