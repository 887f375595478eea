package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/transport/v5/udp"
	"github.com/pion/webrtc/v4"
)

// Engine owns the sockets and pion settings every WebRTC session of kast
// uses: one UDP port (and optionally one TCP port) shared by all sessions,
// the NAT addresses to advertise, and the codec table.
type Engine struct {
	// UDPAddr is the one UDP address of every session ("" = ":8189").
	UDPAddr string
	// TCPAddr, when set, also accepts ICE over TCP (passive candidates) for
	// networks that block UDP.
	TCPAddr string
	// PublicAddrs are the public IPs or host names of a VM behind 1:1 NAT
	// (cloud VMs). They replace the local addresses in host candidates.
	// Host names are resolved once, by Initialize.
	PublicAddrs []string
	// ICEServers are handed to clients; kast does not use them itself.
	ICEServers []ICEServer
	// BatchSize, when positive, batches writes: up to BatchSize datagrams
	// per sendmmsg, written by one flusher goroutine. 0 (the default)
	// writes each datagram with its own sendto from the sender's goroutine:
	// on the bench (docs/benchmarks.md) batching cost as much CPU per packet
	// and its single flusher became the bottleneck.
	BatchSize int
	// BatchInterval bounds how long a datagram may wait for its batch
	// (0: 1 ms).
	BatchInterval time.Duration
	// NoGSO turns off UDP generic segmentation offload, which otherwise
	// sends each run of a frame's packets to a viewer in one sendmsg
	// where the kernel has it (Linux 4.18+; HoldWrites). Unused with
	// BatchSize.
	NoGSO bool
	// IncludeLoopback advertises loopback addresses as candidates (tests,
	// and a server reached only through a local proxy). Always true when
	// UDPAddr is itself a loopback address.
	IncludeLoopback bool
	// Timeouts of ICE: a session with no traffic for ICEDisconnected is
	// disconnected, and failed (closed by its owner) after ICEFailed.
	// Defaults 5 s and 15 s.
	ICEDisconnected time.Duration
	ICEFailed       time.Duration
	Logger          *slog.Logger

	udpConn net.PacketConn
	gso     *gsoConn // nil without GSO
	udpMux  *countingMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
	viewer  *webrtc.API
	publish *webrtc.API
	closeMu sync.Once
}

// DefaultUDPAddr is the UDP address when Engine.UDPAddr is empty.
const DefaultUDPAddr = ":8189"

// Initialize opens the sockets and builds the APIs.
func (e *Engine) Initialize() error {
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.UDPAddr == "" {
		e.UDPAddr = DefaultUDPAddr
	}
	if e.ICEDisconnected <= 0 {
		e.ICEDisconnected = 5 * time.Second
	}
	if e.ICEFailed <= 0 {
		e.ICEFailed = 15 * time.Second
	}
	public, err := resolvePublic(e.PublicAddrs)
	if err != nil {
		return err
	}

	conn, err := net.ListenPacket("udp", e.UDPAddr)
	if err != nil {
		return fmt.Errorf("webrtc udp %s: %w", e.UDPAddr, err)
	}
	if uc, ok := conn.(*net.UDPConn); ok {
		// Room for bursts of many viewers' packets; the kernel caps it at
		// net.core.wmem_max / rmem_max.
		_ = uc.SetWriteBuffer(4 << 20)
		_ = uc.SetReadBuffer(4 << 20)
	}
	var pc net.PacketConn = conn
	if uc, ok := conn.(*net.UDPConn); ok && e.BatchSize <= 0 && !e.NoGSO {
		e.gso = newGSOConn(uc, e.Logger)
		if e.gso.on.Load() {
			pc = e.gso
		} else {
			e.gso = nil
		}
	}
	if e.BatchSize > 0 {
		size, ivl := e.BatchSize, e.BatchInterval
		if ivl <= 0 {
			ivl = time.Millisecond
		}
		pc = udp.NewBatchConn(conn, size, ivl)
	}
	e.udpConn = pc
	loopback := e.IncludeLoopback
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.IsLoopback() {
		loopback = true
	}
	e.udpMux = &countingMux{
		UDPMux:   ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: pc, Logger: pionLogger(e.Logger, "ice-mux")}),
		loopback: loopback,
		ufrags:   map[string]struct{}{},
	}

	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if e.TCPAddr != "" {
		ln, err := net.Listen("tcp", e.TCPAddr)
		if err != nil {
			e.Close()
			return fmt.Errorf("webrtc tcp %s: %w", e.TCPAddr, err)
		}
		e.tcpLn = ln
		e.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:        ln,
			Logger:          pionLogger(e.Logger, "ice-tcp"),
			ReadBufferSize:  32,
			WriteBufferSize: 1 << 20, // per connection; a blocked viewer drops instead of stalling its sender
		})
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}

	se := webrtc.SettingEngine{LoggerFactory: &pionLoggerFactory{log: e.Logger}}
	se.SetICEUDPMux(e.udpMux)
	if e.tcpMux != nil {
		se.SetICETCPMux(e.tcpMux)
	}
	se.SetNetworkTypes(networks)
	se.DisableActiveTCP(true)
	se.SetIncludeLoopbackCandidate(loopback)
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.IsLoopback() {
		// A server bound to loopback talks to local peers over loopback
		// only (tests: a browser's other addresses are never paired).
		se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	// mDNS would open a multicast socket per session. Browsers that hide
	// their address behind a .local name are found from their checks
	// (peer-reflexive candidates) instead.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(e.ICEDisconnected, e.ICEFailed, 2*time.Second)
	if len(public) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        public,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			e.Close()
			return fmt.Errorf("public addresses: %w", err)
		}
	}

	// Viewers get no interceptor: pion's defaults would copy every packet
	// per viewer (NACK responder) and run timers per session. The relay
	// keeps one history per stream and writes its own reports.
	me, err := newMediaEngine()
	if err != nil {
		e.Close()
		return err
	}
	// An empty registry: without one pion installs its defaults.
	e.viewer = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))

	// Publishers (WHIP) get what a receiver needs: NACKs for lost packets
	// and receiver reports.
	me2, err := newMediaEngine()
	if err != nil {
		e.Close()
		return err
	}
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		e.Close()
		return err
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		e.Close()
		return err
	}
	reg.Add(gen)
	reg.Add(rr)
	// Transport-wide congestion control feedback: without it a browser
	// estimates its uplink from loss alone and takes tens of seconds to
	// climb from its 300 kbit/s start.
	if err := webrtc.ConfigureTWCCSender(me2, reg); err != nil {
		e.Close()
		return err
	}
	e.publish = webrtc.NewAPI(webrtc.WithMediaEngine(me2), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
	return nil
}

// Direction says which way media flows in a session.
type Direction int

// Directions of a session.
const (
	Viewer    Direction = iota // WHEP: kast sends
	Publisher                  // WHIP: kast receives
)

// String returns "whep" or "whip", the metrics label.
func (d Direction) String() string {
	if d == Publisher {
		return "whip"
	}
	return "whep"
}

// API returns the pion API for sessions of the given direction.
func (e *Engine) API(d Direction) *webrtc.API {
	if d == Publisher {
		return e.publish
	}
	return e.viewer
}

// NewPeerConnection returns a session on the shared sockets.
func (e *Engine) NewPeerConnection(d Direction) (*webrtc.PeerConnection, error) {
	return e.API(d).NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
}

// UDPLocalAddr returns the address of the shared UDP socket.
func (e *Engine) UDPLocalAddr() net.Addr { return e.udpMux.LocalAddr() }

// TCPLocalAddr returns the ICE-TCP listener's address, nil when off.
func (e *Engine) TCPLocalAddr() net.Addr {
	if e.tcpLn == nil {
		return nil
	}
	return e.tcpLn.Addr()
}

// HoldWrites keeps the UDP datagrams written to addr (a peer's address)
// until ReleaseWrites, which sends them with as few system calls as UDP
// GSO allows. Senders hold a viewer's address while they write it a
// frame. Holds nest; without GSO both are no-ops.
func (e *Engine) HoldWrites(addr netip.AddrPort) {
	if e.gso != nil {
		e.gso.hold(addr)
	}
}

// ReleaseWrites ends a HoldWrites and sends what it kept.
func (e *Engine) ReleaseWrites(addr netip.AddrPort) {
	if e.gso != nil {
		e.gso.release(addr)
	}
}

// GSOStats returns whether UDP GSO is on, the sendmsg calls that carried
// several datagrams and how many datagrams they carried.
func (e *Engine) GSOStats() (on bool, sends, datagrams uint64) {
	if e.gso == nil {
		return false, 0, 0
	}
	return e.gso.on.Load(), e.gso.sends.Load(), e.gso.datagrams.Load()
}

// MuxSessions returns how many ICE sessions hold state in the UDP mux:
// 0 once every session is closed.
func (e *Engine) MuxSessions() int { return e.udpMux.sessions() }

// Close closes the sockets. Sessions still open stop working: close them
// first.
func (e *Engine) Close() error {
	var errs []error
	e.closeMu.Do(func() {
		if e.udpMux != nil {
			errs = append(errs, e.udpMux.Close())
		} else if e.udpConn != nil {
			errs = append(errs, e.udpConn.Close())
		}
		if e.tcpMux != nil {
			errs = append(errs, e.tcpMux.Close())
		}
		if e.tcpLn != nil {
			_ = e.tcpLn.Close()
		}
	})
	return errors.Join(errs...)
}

// resolvePublic turns host names into IP addresses.
func resolvePublic(addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		if a == "" {
			continue
		}
		if ip := net.ParseIP(a); ip != nil {
			out = append(out, ip.String())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, a)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("public address %q: %w", a, err)
		}
		for _, ip := range ips {
			out = append(out, ip.IP.String())
		}
	}
	return out, nil
}
