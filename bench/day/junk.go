package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// junk is what reaches every port of kast on the day besides its users:
// garbage and idle TCP on RTMP, HTTP and metrics, half-sent requests,
// malformed SDP offers to WHEP and WHIP, random UDP to the WebRTC port.
type junk struct {
	s *server

	mu      sync.Mutex
	counts  map[string]int // what was sent, by kind
	answers map[string]int // HTTP answers to bad offers, by status
	health  []time.Duration
	healthE int
}

func (j *junk) add(kind string, n int) {
	j.mu.Lock()
	j.counts[kind] += n
	j.mu.Unlock()
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// tcpFrom dials addr from a loopback source address.
func tcpFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", addr)
}

// run sends junk for d, from sources 127.0.3.x, at a bounded rate.
func (j *junk) run(ctx context.Context, d time.Duration) {
	j.counts, j.answers = map[string]int{}, map[string]int{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	loop := func(every time.Duration, f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					wg.Add(1)
					go func() { defer wg.Done(); f(i) }()
				}
			}
		}()
	}
	src := func(i int) string { return fmt.Sprintf("127.0.3.%d", 1+i%200) }
	hold := func(c net.Conn, d time.Duration) {
		c.SetDeadline(time.Now().Add(d))
		io.Copy(io.Discard, c)
		c.Close()
	}
	// RTMP: random bytes, an idle connection, a handshake cut short.
	loop(50*time.Millisecond, func(i int) {
		c, err := tcpFrom(src(i), j.s.rtmpAddr)
		if err != nil {
			j.add("rtmp dial refused", 1)
			return
		}
		switch i % 3 {
		case 0:
			c.Write(randBytes(1 + mrand.IntN(4096)))
			j.add("rtmp garbage", 1)
		case 1:
			j.add("rtmp idle", 1)
		case 2:
			c.Write(append([]byte{3}, randBytes(700)...)) // C0 and part of C1
			j.add("rtmp half handshake", 1)
		}
		hold(c, 8*time.Second)
	})
	// HTTP and metrics: garbage, half-sent requests, huge headers.
	for _, p := range []struct{ name, addr string }{{"http", j.s.httpAddr}, {"metrics", j.s.metricsAddr}} {
		loop(40*time.Millisecond, func(i int) {
			c, err := tcpFrom(src(i), p.addr)
			if err != nil {
				j.add(p.name+" dial refused", 1)
				return
			}
			switch i % 4 {
			case 0:
				c.Write(randBytes(1 + mrand.IntN(2048)))
				j.add(p.name+" garbage", 1)
			case 1:
				c.Write([]byte("GET /hls/hall-a/index.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: "))
				j.add(p.name+" half-sent request", 1)
			case 2:
				c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 256<<10) + "\r\n\r\n"))
				j.add(p.name+" huge header", 1)
			case 3:
				c.Write([]byte("POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"email\":"))
				j.add(p.name+" half-sent body", 1)
			}
			hold(c, 15*time.Second)
		})
	}
	// Bad offers to WHEP and WHIP.
	offers := []struct {
		name, ctype string
		body        func() []byte
	}{
		{"random", "application/sdp", func() []byte { return randBytes(2000) }},
		{"truncated", "application/sdp", func() []byte {
			return []byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H26")
		}},
		{"no media", "application/sdp", func() []byte { return []byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") }},
		{"bad fingerprint", "application/sdp", func() []byte {
			return []byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 ZZ\r\na=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n")
		}},
		{"huge", "application/sdp", func() []byte {
			return []byte("v=0\r\n" + strings.Repeat("a=x:"+strings.Repeat("y", 100)+"\r\n", 20000))
		}},
		{"json", "application/json", func() []byte { return []byte(`{"sdp": "v=0"}`) }},
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	loop(100*time.Millisecond, func(i int) {
		o := offers[i%len(offers)]
		path := "/whep/hall-a"
		if i%2 == 1 {
			path = "/whip/hall-a"
		}
		res, err := hc.Post(j.s.url(path), o.ctype, strings.NewReader(string(o.body())))
		key := strings.SplitN(path, "/", 3)[1]
		if err != nil {
			j.mu.Lock()
			j.answers[key+" error"]++
			j.mu.Unlock()
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		j.mu.Lock()
		j.answers[fmt.Sprintf("%s %d", key, res.StatusCode)]++
		j.counts[key+" bad offer"]++
		j.mu.Unlock()
	})
	// Random UDP to the WebRTC port: noise, STUN-, DTLS- and RTP-looking.
	loop(5*time.Millisecond, func(i int) {
		c, err := net.Dial("udp", j.s.udpAddr)
		if err != nil {
			return
		}
		defer c.Close()
		for k := 0; k < 10; k++ {
			b := randBytes(20 + mrand.IntN(1200))
			switch k % 4 {
			case 1:
				b[0], b[1] = 0, 1 // a STUN binding request
				b[4], b[5], b[6], b[7] = 0x21, 0x12, 0xa4, 0x42
			case 2:
				b[0] = 22 // a DTLS handshake record
			case 3:
				b[0] = 0x80 // RTP
			}
			c.Write(b)
		}
		j.add("udp datagrams", 10)
	})
	// Meanwhile, a clean client asks /healthz.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := clientFrom("127.0.0.1")
		for ctx.Err() == nil {
			t0 := time.Now()
			res, err := c.Get(j.s.url("/healthz"))
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			j.mu.Lock()
			if err != nil || res.StatusCode != 200 {
				j.healthE++
			} else {
				j.health = append(j.health, time.Since(t0))
			}
			j.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	<-ctx.Done()
	wg.Wait()
}

// healthP99 returns the p99 of the /healthz answers during the junk.
func (j *junk) healthP99() (time.Duration, int, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.health) == 0 {
		return 0, 0, j.healthE
	}
	h := append([]time.Duration(nil), j.health...)
	sort.Slice(h, func(a, b int) bool { return h[a] < h[b] })
	return h[len(h)*99/100], len(h), j.healthE
}

func (j *junk) summary() (sent, answers string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return joinCounts(j.counts), joinCounts(j.answers)
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
