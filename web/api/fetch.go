package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// MaxSyncRedirects is how many redirects a timetable sync follows.
const MaxSyncRedirects = 5

// errRefusedAddress: the timetable URL led to an address kast does not
// fetch from (loopback, link-local, cloud metadata...).
type errRefusedAddress struct{ addr netip.Addr }

func (e errRefusedAddress) Error() string {
	return fmt.Sprintf("refusing to connect to %s (loopback, link-local, multicast or unspecified)", e.addr)
}

// errInsecureRedirect: an https URL redirected to http.
var errInsecureRedirect = errors.New("refusing a redirect from https to http")

// awsIMDSv6 is the IPv6 address of EC2's instance metadata service (an
// IPv4 link-local equivalent in a unique-local prefix).
var awsIMDSv6 = netip.MustParseAddr("fd00:ec2::254")

// refusedAddr reports whether a timetable fetch must not connect to a:
// loopback (unless allowLoopback), link-local (169.254.169.254, the cloud
// metadata services, fe80::/10), unspecified (0.0.0.0/8, ::), multicast,
// broadcast, and EC2's fd00:ec2::254. Private networks stay allowed: a
// pretalx on the organizer's LAN is a fair thing to sync from.
func refusedAddr(a netip.Addr, allowLoopback bool) bool {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return !allowLoopback
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(), a.IsMulticast(),
		a.IsUnspecified(), a == awsIMDSv6:
		return true
	case a.Is4() && (a.As4()[0] == 0 || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})):
		return true
	}
	return false
}

// newFetchClient is the HTTP client of timetable syncs. The check runs in
// the dialer's Control, on the address actually connected to, so a name
// that resolves to a refused address, a redirect to one, and a DNS answer
// that changes between checks (rebinding) are all caught. No proxy from
// the environment is used (it would be the one connecting), an https URL
// may not redirect to http, and at most MaxSyncRedirects are followed.
func newFetchClient(timeout time.Duration, allowLoopback bool) *http.Client {
	return fetchClient(timeout, func(ap netip.AddrPort) bool { return !refusedAddr(ap.Addr(), allowLoopback) })
}

// fetchClient is newFetchClient with the policy allow (tests narrow it
// to one loopback port).
func fetchClient(timeout time.Duration, allow func(netip.AddrPort) bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("unexpected address %q", address)
			}
			if !allow(ap) {
				return errRefusedAddress{ap.Addr()}
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxSyncRedirects {
				return errTooManyRedirects
			}
			if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return errInsecureRedirect
			}
			return nil
		},
	}
}

// describeFetchError says what the organizer may be told of a failed
// fetch: a refused address, a refused redirect, a timeout; anything else
// is "could not connect" (the details, which tell open from closed ports
// on the server's network, go to the log).
func describeFetchError(err error) string {
	var refused errRefusedAddress
	switch {
	case errors.As(err, &refused):
		return "the timetable URL leads to an address kast does not fetch from (loopback, link-local, multicast); " +
			"for a pretalx on the same machine start kast with -timetable-sync-allow-loopback"
	case errors.Is(err, errInsecureRedirect):
		return "the timetable URL redirected from https to http: refused"
	case errors.Is(err, errTooManyRedirects):
		return fmt.Sprintf("the timetable URL redirected more than %d times", MaxSyncRedirects)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "the timetable URL did not answer in time"
	}
	return "could not connect to the timetable URL"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
