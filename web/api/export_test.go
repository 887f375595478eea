package api

import (
	"net/http"
	"net/netip"
	"time"
)

// FetchClientAllowingPort is the timetable sync's client with loopback
// allowed on port alone: a test's stand-in for a public server, whose
// redirects to other loopback ports must be refused.
func FetchClientAllowingPort(timeout time.Duration, port uint16) *http.Client {
	return fetchClient(timeout, func(ap netip.AddrPort) bool {
		if ap.Addr().Unmap().IsLoopback() {
			return ap.Port() == port
		}
		return !refusedAddr(ap.Addr(), false)
	})
}

// RefusedAddr exposes refusedAddr.
func RefusedAddr(a netip.Addr, allowLoopback bool) bool { return refusedAddr(a, allowLoopback) }

// DefaultFetchProxy reports whether the handler's default fetch client
// would use a proxy (it must not).
func DefaultFetchProxy(h *Handler) bool {
	t, ok := h.Fetch.Transport.(*http.Transport)
	return !ok || t.Proxy != nil
}
