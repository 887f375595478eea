package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/kastlive/kast/internal/certs"
)

// tlsSetup returns the TLS configuration HTTPS and RTMPS share, from
// certificate files or ACME, and with ACME the wrapper that answers its
// HTTP-01 challenges on the cleartext listener. Without TLS it returns nil.
func (a *app) tlsSetup() (*tls.Config, func(http.Handler) http.Handler, error) {
	cfg := a.cfg
	switch {
	case cfg.TLSCert != "":
		f := &certs.Files{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, Logger: a.log.With("component", "tls")}
		if err := f.Initialize(); err != nil {
			return nil, nil, fmt.Errorf("tls: %w", err)
		}
		return &tls.Config{GetCertificate: f.GetCertificate, MinVersion: tls.VersionTLS12}, nil, nil
	case cfg.Domains != "":
		m := &certs.ACME{
			Domains:      cfg.domainList(),
			Email:        cfg.ACMEEmail,
			CacheDir:     filepath.Join(cfg.DataDir, "acme"),
			DirectoryURL: cfg.ACMEDirectory,
			Logger:       a.log.With("component", "acme"),
		}
		if cfg.ACMECA != "" {
			pem, err := os.ReadFile(cfg.ACMECA)
			if err != nil {
				return nil, nil, fmt.Errorf("-acme-ca: %w", err)
			}
			m.RootCAs = x509.NewCertPool()
			if !m.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("-acme-ca %s: no PEM certificate in it", cfg.ACMECA)
			}
		}
		if err := m.Initialize(); err != nil {
			return nil, nil, fmt.Errorf("acme: %w", err)
		}
		a.acme = m // asks for the certificates once the listeners are up
		return &tls.Config{
			GetCertificate: m.GetCertificate,
			NextProtos:     m.NextProtos("h2", "http/1.1"),
			MinVersion:     tls.VersionTLS12,
		}, m.HTTPHandler, nil
	}
	return nil, nil, nil
}
