// Package certs provides the TLS certificates kast serves HTTPS and RTMPS
// with: from PEM files that are reloaded when they change (a certificate
// renewed by certbot or cert-manager is picked up without a restart), or
// issued automatically over ACME (autocert) for configured domain names.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Files serves the certificate in CertFile and KeyFile, reloading them
// when either file changes. A reload that fails (a half-written file, a
// key that does not match) keeps the previous certificate and logs why.
type Files struct {
	CertFile string
	KeyFile  string
	Logger   *slog.Logger
	// CheckInterval is the least time between two checks of the files'
	// modification times (default 10 s): the check runs in a handshake.
	CheckInterval time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	lastCheck time.Time
	now       func() time.Time
}

// Initialize loads the certificate; it fails if the files are missing or
// do not hold a matching certificate and key.
func (f *Files) Initialize() error {
	if f.CertFile == "" || f.KeyFile == "" {
		return errors.New("certs: both a certificate file and a key file are needed")
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	if f.CheckInterval <= 0 {
		f.CheckInterval = 10 * time.Second
	}
	if f.now == nil {
		f.now = time.Now
	}
	cm, km, err := f.modTimes()
	if err != nil {
		return err
	}
	cert, err := load(f.CertFile, f.KeyFile)
	if err != nil {
		return err
	}
	f.cert, f.certMod, f.keyMod, f.lastCheck = cert, cm, km, f.now()
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := f.now(); now.Sub(f.lastCheck) >= f.CheckInterval {
		f.lastCheck = now
		f.reloadLocked()
	}
	return f.cert, nil
}

// reloadLocked loads the files again if their modification times moved.
func (f *Files) reloadLocked() {
	cm, km, err := f.modTimes()
	if err != nil {
		f.Logger.Warn("tls certificate not reloaded: keeping the current one", "err", err)
		return
	}
	if cm.Equal(f.certMod) && km.Equal(f.keyMod) {
		return
	}
	cert, err := load(f.CertFile, f.KeyFile)
	if err != nil {
		// Perhaps the renewal is half-way: try again at the next check.
		f.Logger.Warn("tls certificate not reloaded: keeping the current one", "err", err)
		return
	}
	f.cert, f.certMod, f.keyMod = cert, cm, km
	f.Logger.Info("tls certificate reloaded", "subject", cert.Leaf.Subject.String(),
		"not_after", cert.Leaf.NotAfter.Format(time.RFC3339))
}

func (f *Files) modTimes() (cert, key time.Time, err error) {
	ci, err := os.Stat(f.CertFile)
	if err != nil {
		return cert, key, fmt.Errorf("certs: %w", err)
	}
	ki, err := os.Stat(f.KeyFile)
	if err != nil {
		return cert, key, fmt.Errorf("certs: %w", err)
	}
	return ci.ModTime(), ki.ModTime(), nil
}

// load reads a key pair and parses its leaf, so that expiry can be logged.
func load(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: %s, %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("certs: %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}
