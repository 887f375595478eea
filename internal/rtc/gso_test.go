package rtc

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestGSORun(t *testing.T) {
	many := make([]int, 100)
	for i := range many {
		many[i] = 500
	}
	big := []int{9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000}
	for _, tc := range []struct {
		name  string
		sizes []int
		i     int
		j     int
		total int
	}{
		{"alone", []int{1200}, 0, 1, 1200},
		{"frame", []int{1200, 1200, 1200, 700}, 0, 4, 4300},
		{"shorter ends the run", []int{1200, 700, 1200, 1200}, 0, 2, 1900},
		{"next run", []int{1200, 700, 1200, 1200}, 2, 4, 2400},
		{"longer starts a run", []int{30, 1200, 1200}, 0, 1, 30},
		{"segments limit", many, 0, 64, 64 * 500},
		{"rest after the limit", many, 64, 100, 36 * 500},
		{"bytes limit", big, 0, 6, 54000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, total := gsoRun(tc.sizes, tc.i)
			if j != tc.j || total != tc.total {
				t.Fatalf("gsoRun(%v, %d) = %d, %d; want %d, %d", tc.sizes, tc.i, j, total, tc.j, tc.total)
			}
		})
	}
}

// TestGSOConn: datagrams written to a held address arrive, whole and in
// order, once it is released, in fewer sendmsg calls than datagrams;
// another address is not held back.
func TestGSOConn(t *testing.T) {
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	send, held, other := listen(), listen(), listen()
	g := newGSOConn(send, slog.Default())
	if !g.on.Load() {
		skipWithoutGSO(t)
	}
	heldAP := held.LocalAddr().(*net.UDPAddr).AddrPort()
	otherAP := other.LocalAddr().(*net.UDPAddr).AddrPort()

	sizes := []int{1200, 1200, 1200, 700, 1200, 300, 40, 1200, 1200}
	var sent [][]byte
	g.hold(heldAP)
	g.hold(heldAP) // nested: the second release sends
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		sent = append(sent, p)
		var err error
		if i%2 == 0 {
			_, err = g.WriteToAddrPort(p, heldAP)
		} else {
			_, err = g.WriteTo(p, net.UDPAddrFromAddrPort(heldAP))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.WriteToAddrPort([]byte("now"), otherAP); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	_ = other.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := other.ReadFromUDP(buf); err != nil || string(buf[:n]) != "now" {
		t.Fatalf("unheld address: %q, %v", buf[:n], err)
	}
	_ = held.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, _, err := held.ReadFromUDP(buf); err == nil {
		t.Fatal("a held datagram was sent before the release")
	}
	g.release(heldAP)
	if _, _, err := held.ReadFromUDP(buf); err == nil {
		t.Fatal("a datagram was sent at the first of two releases")
	}
	g.release(heldAP)
	_ = held.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i, want := range sent {
		n, _, err := held.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("datagram %d: %d bytes of %d, want %d of %d", i, n, buf[0], len(want), want[0])
		}
	}
	// Runs: [1200 1200 1200 700] [1200 300] [40] [1200 1200].
	if s, d := g.sends.Load(), g.datagrams.Load(); s != 3 || d != 8 {
		t.Fatalf("%d sendmsg calls carried %d datagrams; want 3 carrying 8", s, d)
	}
	if g.holding.Load() != 0 {
		t.Fatalf("%d addresses still held", g.holding.Load())
	}
}

// TestGSOConnMapped: an IPv4 peer held as an IPv4-mapped address is the
// same peer.
func TestGSOConnMapped(t *testing.T) {
	ap := netip.MustParseAddrPort("[::ffff:127.0.0.1]:5000")
	if canonical(ap) != netip.MustParseAddrPort("127.0.0.1:5000") {
		t.Fatal(canonical(ap))
	}
}

// TestGSOConnDualStack: kast's default socket (":8189") is one IPv6
// socket for both families; runs to IPv4 peers (as IPv4 or IPv4-mapped
// addresses) and to IPv6 peers are segmented alike.
func TestGSOConnDualStack(t *testing.T) {
	send, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	g := newGSOConn(send, slog.Default())
	if !g.on.Load() {
		skipWithoutGSO(t)
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
		if err != nil {
			t.Logf("%s: %v", host, err)
			continue
		}
		defer recv.Close()
		ap := recv.LocalAddr().(*net.UDPAddr).AddrPort()
		held := ap
		if ap.Addr().Is4() {
			held = netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port()) // as the mux may see it
		}
		g.hold(held)
		for i := range 5 {
			n := 1100
			if i == 4 {
				n = 300
			}
			if _, err := g.WriteToAddrPort(bytes.Repeat([]byte{byte(i)}, n), ap); err != nil {
				t.Fatal(err)
			}
		}
		before := g.sends.Load()
		g.release(held)
		if g.sends.Load() != before+1 {
			t.Errorf("%s: %d sendmsg calls with several datagrams, want 1", host, g.sends.Load()-before)
		}
		buf := make([]byte, 2000)
		_ = recv.SetReadDeadline(time.Now().Add(2 * time.Second))
		for i := range 5 {
			n, _, err := recv.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("%s: datagram %d: %v", host, i, err)
			}
			if want := map[bool]int{true: 300, false: 1100}[i == 4]; n != want || buf[0] != byte(i) {
				t.Fatalf("%s: datagram %d: %d bytes of %d", host, i, n, buf[0])
			}
		}
	}
}

// TestGSOConnRefusedPeer: a peer the kernel would not segment for gets its
// datagrams one by one; the others keep GSO.
func TestGSOConnRefusedPeer(t *testing.T) {
	send, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	g := newGSOConn(send, slog.Default())
	if !g.on.Load() {
		skipWithoutGSO(t)
	}
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	ap := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	g.refuse(ap, errors.New("EIO, as from a device without checksum offload"))
	g.hold(ap)
	for range 3 {
		if _, err := g.WriteToAddrPort(make([]byte, 1000), ap); err != nil {
			t.Fatal(err)
		}
	}
	g.release(ap)
	buf := make([]byte, 2000)
	_ = recv.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i := range 3 {
		if n, _, err := recv.ReadFromUDP(buf); err != nil || n != 1000 {
			t.Fatalf("datagram %d: %d bytes, %v", i, n, err)
		}
	}
	if g.sends.Load() != 0 || !g.on.Load() {
		t.Fatalf("%d GSO sends to a refused peer; GSO on %v", g.sends.Load(), g.on.Load())
	}
}

// skipWithoutGSO skips a test on a kernel without UDP GSO (not Linux,
// gVisor), except in CI, whose machines have it.
func skipWithoutGSO(t *testing.T) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal("the kernel has no UDP GSO, which CI's machines have")
	}
	t.Skip("the kernel has no UDP GSO")
}
