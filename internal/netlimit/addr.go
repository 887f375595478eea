package netlimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Key is the address range one client is limited by: its IPv4 address,
// or the /64 of its IPv6 address (one subscriber usually gets a whole
// /64, so counting single addresses would limit nothing). The zero
// Prefix for an invalid address.
func Key(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// Site is the IPv6 /48 of a (a site, which may hand out 65,536 /64s):
// limits per Key are also aggregated per Site, so a site cannot multiply
// its rate by its /64s. ok is false for IPv4 addresses, whose Key is
// already one address.
func Site(a netip.Addr) (p netip.Prefix, ok bool) {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || a.Is4() {
		return netip.Prefix{}, false
	}
	p, _ = a.Prefix(48)
	return p, true
}

// Proxies are the reverse proxies (and CDNs) kast trusts to say who their
// client is in X-Forwarded-For. The zero value trusts none: the client is
// the connection's peer, whatever headers it sends.
type Proxies struct {
	trusted []netip.Prefix
}

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32").
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			pr, err := netip.ParsePrefix(f)
			if err != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q: %v", f, err)
			}
			p.trusted = append(p.trusted, pr.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
		}
		a = a.Unmap()
		p.trusted = append(p.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// Trusts reports whether a is one of the trusted proxies.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, pr := range p.trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client that made r: the
// connection's peer, or, when the peer is a trusted proxy, the rightmost
// address in X-Forwarded-For that is not a trusted proxy (each proxy
// appends the address it got the request from; the entries left of the
// first untrusted one are whatever the client claimed). An entry that is
// not an address ends the walk there: the last trusted hop is the client.
func (p Proxies) ClientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if len(p.trusted) == 0 || !p.Trusts(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a := remoteAddr(strings.TrimSpace(entries[j]))
			if !a.IsValid() {
				return client
			}
			client = a
			if !p.Trusts(a) {
				return a
			}
		}
	}
	return client
}

// remoteAddr parses "host:port", "[v6]:port" or a bare address.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
