package main

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHTTPConnsPerSource: one source address holding its
// -http-conns-per-source idle connections gets its next one closed at
// once, while another address is served; the refusal is counted.
func TestHTTPConnsPerSource(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_HTTP_CONNS_PER_SOURCE": "4"})
	addr := a.web.Addr().String()
	dial := func(src string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for range 4 {
		dial("127.0.0.3")
	}
	// The counts are taken at accept: give the listener a moment.
	deadline := time.Now().Add(2 * time.Second)
	for metric(a, "kast_http_connections") < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	over := dial("127.0.0.3")
	over.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Fatal("fifth connection from one source answered")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("fifth connection from one source left open")
	}
	c := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}).DialContext}}
	res, err := c.Get(a.testURL("/healthz"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("another source: %v %v", res, err)
	}
	res.Body.Close()
	if n := metricValue(metricLines(a, "kast_http_connections_refused_total"), `kast_http_connections_refused_total{reason="per_source"}`); n != 1 {
		t.Fatalf("per-source refusals counted: %v\n%s", n, metricLines(a, "kast_http_connections"))
	}
}
