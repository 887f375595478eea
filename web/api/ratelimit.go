package api

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/kastlive/kast/internal/netlimit"
)

// RateLimit is a token bucket: Burst attempts at once, then one per
// Every.
type RateLimit = netlimit.Limit

// siteFactor: an IPv6 /48 (a site) gets this many times the limit of one
// /64, as one bucket: a site cannot multiply its attempts by its 65,536
// /64s.
const siteFactor = 8

// clientLimiter limits a client address per netlimit.Key (IPv4 address,
// IPv6 /64) and, for IPv6, per netlimit.Site (/48) together.
type clientLimiter struct {
	key  *netlimit.Limiter[netip.Prefix]
	site *netlimit.Limiter[netip.Prefix]
}

func newClientLimiter(l RateLimit, now func() time.Time) clientLimiter {
	site := l
	if !l.Off() {
		site = RateLimit{Burst: l.Burst * siteFactor, Every: l.Every / siteFactor}
	}
	return clientLimiter{key: netlimit.NewLimiter[netip.Prefix](l, now), site: netlimit.NewLimiter[netip.Prefix](site, now)}
}

// allow takes a token for the client at a, or returns how long to wait.
func (c clientLimiter) allow(a netip.Addr) time.Duration {
	if wait := c.key.Allow(netlimit.Key(a)); wait > 0 {
		return wait
	}
	if s, ok := netlimit.Site(a); ok {
		return c.site.Allow(s)
	}
	return 0
}

// clientAddr is the address of the client behind r: the peer, or what a
// trusted proxy says (Handler.Proxies).
func (h *Handler) clientAddr(r *http.Request) netip.Addr { return h.Proxies.ClientAddr(r) }

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
