package rtc

import (
	"net"
	"sync"

	"github.com/pion/ice/v4"
)

// countingMux wraps the UDP mux to know how many sessions hold state in
// it (tests check that closed sessions leave none) and to decide which
// local addresses are advertised.
type countingMux struct {
	ice.UDPMux
	loopback bool

	mu     sync.Mutex
	ufrags map[string]struct{}
}

func (m *countingMux) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	c, err := m.UDPMux.GetConn(ufrag, addr)
	if err == nil {
		m.mu.Lock()
		m.ufrags[ufrag] = struct{}{}
		m.mu.Unlock()
	}
	return c, err
}

func (m *countingMux) RemoveConnByUfrag(ufrag string) {
	m.UDPMux.RemoveConnByUfrag(ufrag)
	m.mu.Lock()
	delete(m.ufrags, ufrag)
	m.mu.Unlock()
}

func (m *countingMux) GetListenAddresses() []net.Addr {
	all := m.UDPMux.GetListenAddresses()
	if m.loopback {
		return all
	}
	out := all[:0:0]
	for _, a := range all {
		if ua, ok := a.(*net.UDPAddr); ok && ua.IP.IsLoopback() {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (m *countingMux) LocalAddr() net.Addr {
	if la, ok := m.UDPMux.(interface{ LocalAddr() net.Addr }); ok {
		return la.LocalAddr()
	}
	return nil
}

func (m *countingMux) sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ufrags)
}
