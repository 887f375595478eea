package testutil

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// UDPRelay is a UDP middlebox on 127.0.0.1 in front of a server's port
// (kast's one WebRTC port), for tests of a lossy network: each direction
// drops a fraction of the datagrams, may delay them, and can be cut. Like
// a NAT it gives every client address its own upstream socket, so the
// server sees the relay's address as the client's (an ICE
// peer-reflexive candidate) and answers through it.
type UDPRelay struct {
	target *net.UDPAddr
	conn   *net.UDPConn

	mu    sync.Mutex
	loss  [2]float64
	delay [2]time.Duration
	cut   bool
	rng   *rand.Rand
	peers map[string]*udpPeer
	done  chan struct{}
	wg    sync.WaitGroup

	queues    [2]chan delayed // datagrams held for their delay, in order
	forwarded [2]atomic.Int64
	dropped   [2]atomic.Int64
}

// delayed is a datagram waiting for its delay to pass.
type delayed struct {
	due   time.Time
	b     []byte
	write func([]byte)
}

type udpPeer struct {
	client *net.UDPAddr
	up     *net.UDPConn // connected to the target
}

// NewUDPRelay listens on a free loopback port and relays to target. The
// loss is drawn from a generator seeded with seed, so a run can be
// repeated. It is closed at the end of the test.
func NewUDPRelay(t testing.TB, target string, seed uint64) *UDPRelay {
	t.Helper()
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	r := &UDPRelay{target: ta, conn: c, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		peers: map[string]*udpPeer{}, done: make(chan struct{})}
	for d := range r.queues {
		r.queues[d] = make(chan delayed, 4096)
		r.wg.Add(1)
		go r.deliver(r.queues[d])
	}
	r.wg.Add(1)
	go r.readClients()
	t.Cleanup(r.Close)
	return r
}

// Addr returns the relay's address, the one clients send to.
func (r *UDPRelay) Addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// SetLoss drops this fraction (0 to 1) of the datagrams going dir.
func (r *UDPRelay) SetLoss(dir Direction, fraction float64) {
	r.mu.Lock()
	r.loss[dir] = fraction
	r.mu.Unlock()
}

// SetDelay delays the datagrams going dir.
func (r *UDPRelay) SetDelay(dir Direction, d time.Duration) {
	r.mu.Lock()
	r.delay[dir] = d
	r.mu.Unlock()
}

// SetCut drops everything while on.
func (r *UDPRelay) SetCut(on bool) {
	r.mu.Lock()
	r.cut = on
	r.mu.Unlock()
}

// Forwarded returns the datagrams relayed in dir.
func (r *UDPRelay) Forwarded(dir Direction) int64 { return r.forwarded[dir].Load() }

// Dropped returns the datagrams dropped in dir.
func (r *UDPRelay) Dropped(dir Direction) int64 { return r.dropped[dir].Load() }

// Close stops the relay.
func (r *UDPRelay) Close() {
	select {
	case <-r.done:
		return
	default:
	}
	close(r.done)
	r.conn.Close()
	r.mu.Lock()
	for _, p := range r.peers {
		p.up.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// fate decides what happens to one datagram going dir: dropped, or sent
// after a delay.
func (r *UDPRelay) fate(dir Direction) (drop bool, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cut || (r.loss[dir] > 0 && r.rng.Float64() < r.loss[dir]) {
		r.dropped[dir].Add(1)
		return true, 0
	}
	return false, r.delay[dir]
}

func (r *UDPRelay) send(dir Direction, delay time.Duration, b []byte, write func([]byte)) {
	r.forwarded[dir].Add(1)
	if delay <= 0 {
		write(b)
		return
	}
	select {
	case r.queues[dir] <- delayed{due: time.Now().Add(delay), b: b, write: write}:
	default:
		// A full queue is a full router buffer: tail drop.
		r.forwarded[dir].Add(-1)
		r.dropped[dir].Add(1)
	}
}

// deliver writes delayed datagrams when due, in the order they came (a
// link delays, it does not reorder).
func (r *UDPRelay) deliver(q chan delayed) {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case d := <-q:
			if w := time.Until(d.due); w > 0 {
				select {
				case <-r.done:
					return
				case <-time.After(w):
				}
			}
			d.write(d.b)
		}
	}
}

// readClients relays what clients send to the target.
func (r *UDPRelay) readClients() {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p, err := r.peer(from)
		if err != nil {
			continue
		}
		if drop, delay := r.fate(Up); !drop {
			b := append([]byte(nil), buf[:n]...)
			r.send(Up, delay, b, func(b []byte) { _, _ = p.up.Write(b) })
		}
	}
}

// peer returns the upstream socket of a client address, opening it and
// its reader the first time.
func (r *UDPRelay) peer(client *net.UDPAddr) (*udpPeer, error) {
	key := client.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.peers[key]; p != nil {
		return p, nil
	}
	up, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, r.target)
	if err != nil {
		return nil, err
	}
	_ = up.SetReadBuffer(4 << 20)
	p := &udpPeer{client: client, up: up}
	r.peers[key] = p
	r.wg.Add(1)
	go r.readTarget(p)
	return p, nil
}

// readTarget relays what the target answers to one client.
func (r *UDPRelay) readTarget(p *udpPeer) {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := p.up.Read(buf)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			// ICMP port unreachable on a connected socket (the client or
			// the server went away for a moment): keep relaying.
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if drop, delay := r.fate(Down); !drop {
			b := append([]byte(nil), buf[:n]...)
			r.send(Down, delay, b, func(b []byte) { _, _ = r.conn.WriteToUDP(b, p.client) })
		}
	}
}
