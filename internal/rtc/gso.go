package rtc

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// gsoConn is the UDP socket under the ICE mux. A sender that is about to
// write several datagrams to one peer (a video frame's RTP packets) holds
// the peer's address: the writes to it are kept, and sent when it
// releases the address with as few system calls as UDP generic
// segmentation offload (GSO, Linux 4.18+) allows. One sendmsg carries a
// run of datagrams of one size, the last of the run possibly shorter,
// which is what an RTP packetizer makes of a frame: MTU-sized packets and
// a shorter last one. Writes to addresses nobody holds, and every write
// when the kernel has no GSO, go straight to the socket.
type gsoConn struct {
	*net.UDPConn
	log     *slog.Logger
	on      atomic.Bool  // the kernel segments for us
	holding atomic.Int32 // addresses held now: 0 skips the lookups
	stripes [gsoStripes]gsoStripe

	sends     atomic.Uint64 // sendmsg calls carrying several datagrams
	datagrams atomic.Uint64 // datagrams those carried

	// refused are the peers the kernel would not segment for (a route
	// through a device without checksum offload, a path MTU below the
	// packets): they get one datagram per call. Past gsoMaxRefused of
	// them GSO is turned off for everyone.
	refusedMu sync.Mutex
	refused   map[netip.AddrPort]struct{}
}

const (
	gsoStripes = 16
	// gsoMaxSegments is the kernel's UDP_MAX_SEGMENTS (64 before 6.9).
	gsoMaxSegments = 64
	// gsoMaxBytes keeps a sendmsg below the 64 KB of one IP datagram.
	gsoMaxBytes   = 60000
	gsoMaxRefused = 1000
	// gsoKeepBytes is the largest batch buffer kept for reuse: a frame's.
	gsoKeepBytes = 256 << 10
)

type gsoStripe struct {
	mu   sync.Mutex
	held map[netip.AddrPort]*gsoBatch
}

// gsoBatch is what was written to one held address: the datagrams back to
// back in buf, their lengths in sizes.
type gsoBatch struct {
	refs  int
	buf   []byte
	sizes []int
}

var gsoBatchPool = sync.Pool{New: func() any { return &gsoBatch{buf: make([]byte, 0, 16<<10)} }}

// newGSOConn wraps c; GSO is used when the kernel has it for c.
func newGSOConn(c *net.UDPConn, log *slog.Logger) *gsoConn {
	g := &gsoConn{UDPConn: c, log: log, refused: map[netip.AddrPort]struct{}{}}
	for i := range g.stripes {
		g.stripes[i].held = map[netip.AddrPort]*gsoBatch{}
	}
	g.on.Store(gsoSupported(c))
	return g
}

func (g *gsoConn) stripe(ap netip.AddrPort) *gsoStripe {
	a := ap.Addr().As16()
	h := uint(ap.Port()) ^ uint(a[15]) ^ uint(a[14])<<3 ^ uint(a[13])<<5
	return &g.stripes[h%gsoStripes]
}

// hold starts keeping the writes to ap; every hold needs its release.
func (g *gsoConn) hold(ap netip.AddrPort) {
	if !g.on.Load() || !ap.IsValid() {
		return
	}
	ap = canonical(ap)
	s := g.stripe(ap)
	s.mu.Lock()
	b := s.held[ap]
	if b == nil {
		b = gsoBatchPool.Get().(*gsoBatch)
		s.held[ap] = b
		g.holding.Add(1)
	}
	b.refs++
	s.mu.Unlock()
}

// release ends a hold of ap; the last one sends what was kept.
func (g *gsoConn) release(ap netip.AddrPort) {
	if !ap.IsValid() {
		return
	}
	ap = canonical(ap)
	s := g.stripe(ap)
	s.mu.Lock()
	b := s.held[ap]
	if b == nil {
		s.mu.Unlock()
		return
	}
	b.refs--
	if b.refs > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.held, ap)
	g.holding.Add(-1)
	s.mu.Unlock()
	g.send(b, ap)
	if cap(b.buf) > gsoKeepBytes {
		return // a new viewer's GOP: not kept for every frame after
	}
	b.buf, b.sizes = b.buf[:0], b.sizes[:0]
	gsoBatchPool.Put(b)
}

// keep appends p to ap's batch when ap is held.
func (g *gsoConn) keep(p []byte, ap netip.AddrPort) bool {
	if g.holding.Load() == 0 {
		return false
	}
	ap = canonical(ap)
	s := g.stripe(ap)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.held[ap]
	if b == nil {
		return false
	}
	b.buf = append(b.buf, p...)
	b.sizes = append(b.sizes, len(p))
	return true
}

func (g *gsoConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok && g.keep(p, ua.AddrPort()) {
		return len(p), nil
	}
	return g.UDPConn.WriteTo(p, addr)
}

// WriteToAddrPort and ReadFromAddrPort are ice.AddrPortReaderWriter: the
// mux's allocation-free path.
func (g *gsoConn) WriteToAddrPort(p []byte, ap netip.AddrPort) (int, error) {
	if g.keep(p, ap) {
		return len(p), nil
	}
	return g.UDPConn.WriteToUDPAddrPort(p, ap)
}

func (g *gsoConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return g.UDPConn.ReadFromUDPAddrPort(p)
}

// send writes a batch: each run of equal-sized datagrams (the last may be
// shorter) in one sendmsg, a datagram alone with a plain write. Errors
// are the datagrams' loss, as with any UDP write; if the kernel refuses
// segmentation (a device without checksum offload), GSO is turned off and
// the run is sent datagram by datagram.
func (g *gsoConn) send(b *gsoBatch, ap netip.AddrPort) {
	segment := g.on.Load() && !g.isRefused(ap)
	off := 0
	for i := 0; i < len(b.sizes); {
		seg := b.sizes[i]
		j, total := gsoRun(b.sizes, i)
		run := b.buf[off : off+total]
		if j-i > 1 && segment {
			err := writeGSO(g.UDPConn, run, seg, ap)
			if err == nil {
				g.sends.Add(1)
				g.datagrams.Add(uint64(j - i))
				off, i = off+total, j
				continue
			}
			if gsoRefused(err) {
				g.refuse(ap, err)
				segment = false
			}
		}
		for k := i; k < j; k++ {
			_, _ = g.UDPConn.WriteToUDPAddrPort(b.buf[off:off+b.sizes[k]], ap)
			off += b.sizes[k]
		}
		i = j
	}
}

func (g *gsoConn) isRefused(ap netip.AddrPort) bool {
	g.refusedMu.Lock()
	defer g.refusedMu.Unlock()
	_, ok := g.refused[ap]
	return ok
}

// refuse records that the kernel would not segment for ap, and turns GSO
// off when that happened for many peers.
func (g *gsoConn) refuse(ap netip.AddrPort, err error) {
	g.refusedMu.Lock()
	g.refused[ap] = struct{}{}
	n := len(g.refused)
	g.refusedMu.Unlock()
	if n == 1 || n%100 == 0 {
		g.log.Warn("UDP GSO refused by the kernel for a WebRTC peer: its packets leave one sendmsg each", "err", err, "peer", ap, "peers", n)
	}
	if n >= gsoMaxRefused && g.on.CompareAndSwap(true, false) {
		g.log.Warn("UDP GSO refused for many WebRTC peers: turned off", "peers", n)
	}
}

// gsoRun returns the end (exclusive) and byte count of the run of
// datagrams starting at sizes[i] that one sendmsg can carry: equal sizes,
// the last possibly shorter, within the kernel's limits.
func gsoRun(sizes []int, i int) (j, total int) {
	seg := sizes[i]
	j, total = i+1, seg
	for seg > 0 && j < len(sizes) && j-i < gsoMaxSegments && total+sizes[j] <= gsoMaxBytes && sizes[j] <= seg {
		total += sizes[j]
		j++
		if sizes[j-1] < seg {
			break
		}
	}
	return j, total
}

// canonical makes IPv4-mapped IPv6 addresses IPv4, as the mux sees them.
func canonical(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}
