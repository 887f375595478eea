package live

import (
	"net/http"
	"net/netip"

	"github.com/kastlive/kast/internal/netlimit"
)

// sourceOf returns the address range a connection is limited by
// (netlimit.Key: the address for IPv4, its /64 for IPv6) of the client
// behind r: the peer, or the one a trusted proxy names.
func (h *Hub) sourceOf(r *http.Request) netip.Prefix {
	return netlimit.Key(h.Proxies.ClientAddr(r))
}
