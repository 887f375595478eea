package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACME obtains and renews certificates for Domains from an ACME CA (Let's
// Encrypt unless DirectoryURL says otherwise) with HTTP-01 challenges,
// which HTTPHandler answers on port 80. Certificates and the account key
// are cached in CacheDir, so a restart does not ask the CA again.
type ACME struct {
	Domains  []string
	Email    string // optional: the CA's expiry notices
	CacheDir string
	// DirectoryURL of the CA; empty means Let's Encrypt's production one.
	DirectoryURL string
	// RootCAs, when set, are the only roots trusted for the CA's own HTTPS
	// (a private CA, or pebble in tests).
	RootCAs *x509.CertPool
	Logger  *slog.Logger

	m *autocert.Manager

	// Handshakes for server names not in Domains: counted since the last
	// summary (warnUnknown), whose timer runs while some wait for it.
	mu        sync.Mutex
	unknown   uint64
	lastName  string
	warnedAt  time.Time
	warnTimer *time.Timer
	warnEvery time.Duration // 10 s; tests make it shorter
}

// Initialize checks the settings and prepares the manager; nothing is
// asked of the CA until the first handshake needs a certificate.
func (a *ACME) Initialize() error {
	if len(a.Domains) == 0 || a.CacheDir == "" {
		return errors.New("certs: ACME needs at least one domain and a cache directory")
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.warnEvery == 0 {
		a.warnEvery = 10 * time.Second
	}
	client := &acme.Client{DirectoryURL: a.DirectoryURL}
	if a.RootCAs != nil {
		client.HTTPClient = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.RootCAs, MinVersion: tls.VersionTLS12}},
		}
	}
	a.m = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(a.CacheDir),
		HostPolicy: autocert.HostWhitelist(a.Domains...),
		Email:      a.Email,
		Client:     client,
	}
	return nil
}

// GetCertificate implements tls.Config.GetCertificate. A client that sends
// no server name (some RTMPS encoders) gets the first domain's certificate.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		h := *hello
		h.ServerName = a.Domains[0]
		hello = &h
	}
	cert, err := a.m.GetCertificate(hello)
	if err != nil {
		if a.isDomain(hello.ServerName) {
			a.Logger.Warn("acme: no certificate", "server_name", hello.ServerName, "err", err)
		} else {
			// Scanners try every name: a line each would fill the log.
			a.Logger.Debug("acme: no certificate", "server_name", hello.ServerName, "err", err)
			a.countUnknown(hello.ServerName)
		}
	}
	return cert, err
}

// isDomain reports whether name is one of Domains.
func (a *ACME) isDomain(name string) bool {
	name = strings.TrimSuffix(name, ".")
	return slices.ContainsFunc(a.Domains, func(d string) bool { return strings.EqualFold(strings.TrimSuffix(d, "."), name) })
}

// countUnknown counts a handshake for a server name kast has no
// certificate for, for the summary warnUnknown logs: at once when the
// last summary is old enough, else when it is.
func (a *ACME) countUnknown(name string) {
	a.mu.Lock()
	a.unknown++
	a.lastName = name
	wait := a.warnEvery - time.Since(a.warnedAt)
	if wait > 0 {
		if a.warnTimer == nil {
			a.warnTimer = time.AfterFunc(wait, a.warnUnknown)
		}
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.warnUnknown()
}

// warnUnknown logs, at most every 10 s, how many TLS handshakes asked for
// a server name that is not one of Domains since its last line.
func (a *ACME) warnUnknown() {
	a.mu.Lock()
	n, last := a.unknown, a.lastName
	a.unknown, a.warnTimer, a.warnedAt = 0, nil, time.Now()
	a.mu.Unlock()
	if n > 0 {
		a.Logger.Warn("acme: no certificate for server names that are not among the domains (count since the last such line; each is logged at debug level)",
			"handshakes", n, "last_server_name", last, "domains", strings.Join(a.Domains, ","))
	}
}

// NextProtos returns the ALPN protocols to offer, with the ACME TLS-ALPN-01
// one autocert also answers.
func (a *ACME) NextProtos(protos ...string) []string { return append(protos, acme.ALPNProto) }

// HTTPHandler answers HTTP-01 challenges and passes every other request
// to fallback (nil: a redirect to HTTPS).
//
// autocert checks the Host header, port included, against the domains; a
// CA validating on another port than 80 (pebble in tests, or a port
// mapped by a proxy) sends one, so it is dropped before the check.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler {
	h := a.m.HTTPHandler(fallback)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			if host, _, err := net.SplitHostPort(r.Host); err == nil {
				r2 := *r
				r2.Host = host
				r = &r2
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Prefetch asks for the certificates now instead of at the first
// handshake, so that a CA that refuses shows in the log at start.
func (a *ACME) Prefetch() {
	for _, d := range a.Domains {
		go func() {
			if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: d}); err != nil {
				return // logged
			}
			a.Logger.Info("acme: certificate ready", "domain", d)
		}()
	}
}
