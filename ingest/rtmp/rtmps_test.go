package rtmp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// selfSigned returns a certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kast test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestRTMPSPublish(t *testing.T) {
	s, hub := newTestServerTLS(t, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	p := testutil.StartPublish(t, testutil.Publish{URL: "rtmps://" + s.Addr().String() + "/live/" + testKey,
		Size: "320x240", Duration: 5 * time.Second})
	waitFor(t, "media over RTMPS", 10*time.Second, func() bool { return hub.Stats().Units > 30 })
	if hub.Live("main") == nil {
		t.Fatalf("no live stream over RTMPS: %s", p.Output())
	}
}
