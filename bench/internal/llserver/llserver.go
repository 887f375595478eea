// Package llserver is a minimal RTMP-in, LL-HLS-out server built from
// gortmplib's server connection and gohlslib.Muxer (200 ms parts, 1 s
// segments by default). It is the baseline kast's packager is measured
// against, and the server the bench's end-to-end test publishes to.
//
// One publisher at a time: whatever its RTMP path, the stream is served at
// any HTTP path ending in index.m3u8 (the muxer routes by base name), e.g.
// http://ADDR/live/index.m3u8.
package llserver

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	hlscodecs "github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortmplib"
	rtmpcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
)

// Server accepts RTMP publishers and serves the current one over LL-HLS.
type Server struct {
	RTMPAddr        string        // e.g. "127.0.0.1:1937"; ":0" picks a port
	HTTPAddr        string        // e.g. "127.0.0.1:8082"
	PartDuration    time.Duration // default 200 ms
	SegmentDuration time.Duration // default 1 s
	Logf            func(format string, args ...any)

	rtmpLn net.Listener
	httpLn net.Listener
	hs     *http.Server
	muxer  atomic.Pointer[gohlslib.Muxer]
	pubMu  sync.Mutex
	wg     sync.WaitGroup
	conns  sync.Map // net.Conn -> struct{}
}

// Start listens on both addresses and serves in the background.
func (s *Server) Start() error {
	if s.PartDuration == 0 {
		s.PartDuration = 200 * time.Millisecond
	}
	if s.SegmentDuration == 0 {
		s.SegmentDuration = time.Second
	}
	if s.Logf == nil {
		s.Logf = log.Printf
	}
	var err error
	if s.rtmpLn, err = net.Listen("tcp", s.RTMPAddr); err != nil {
		return err
	}
	if s.httpLn, err = net.Listen("tcp", s.HTTPAddr); err != nil {
		s.rtmpLn.Close()
		return err
	}
	s.hs = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.hs.Serve(s.httpLn)
	}()
	go func() {
		defer s.wg.Done()
		s.acceptRTMP()
	}()
	return nil
}

// RTMPListenAddr and HTTPListenAddr return the bound addresses.
func (s *Server) RTMPListenAddr() string { return s.rtmpLn.Addr().String() }

// HTTPListenAddr returns the bound HTTP address.
func (s *Server) HTTPListenAddr() string { return s.httpLn.Addr().String() }

// Close stops listening, drops the publisher and closes the muxer.
func (s *Server) Close() {
	s.rtmpLn.Close()
	s.hs.Close()
	s.conns.Range(func(k, _ any) bool {
		k.(net.Conn).Close()
		return true
	})
	if m := s.muxer.Swap(nil); m != nil {
		m.Close()
	}
	s.wg.Wait()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	m := s.muxer.Load()
	if m == nil {
		http.Error(w, "no stream", http.StatusNotFound)
		return
	}
	m.Handle(w, r)
}

func (s *Server) acceptRTMP() {
	for {
		c, err := s.rtmpLn.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		s.conns.Store(c, struct{}{})
		go func() {
			defer s.wg.Done()
			defer s.conns.Delete(c)
			defer c.Close()
			err := s.handleConn(c)
			s.Logf("llserver: rtmp %v closed: %v", c.RemoteAddr(), err)
		}()
	}
}

func (s *Server) handleConn(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	sc := &gortmplib.ServerConn{RW: c}
	if err := sc.Initialize(); err != nil {
		return err
	}
	if err := sc.AcceptConn(); err != nil {
		return err
	}
	if !sc.Publish {
		return errors.New("reading over RTMP is not supported")
	}
	if !s.pubMu.TryLock() {
		return errors.New("someone is already publishing")
	}
	defer s.pubMu.Unlock()

	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return err
	}
	m := &gohlslib.Muxer{
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       7,
		SegmentMinDuration: s.SegmentDuration,
		PartMinDuration:    s.PartDuration,
	}
	var onStart []func()
	for _, t := range r.Tracks() {
		switch codec := t.Codec.(type) {
		case *rtmpcodecs.H264:
			ht := &gohlslib.Track{Codec: &hlscodecs.H264{SPS: codec.SPS, PPS: codec.PPS}, ClockRate: 90000}
			m.Tracks = append(m.Tracks, ht)
			onStart = append(onStart, func() {
				r.OnDataH264(t, func(pts, _ time.Duration, au [][]byte) {
					if err := m.WriteH264(ht, time.Now(), ticks(pts, 90000), au); err != nil {
						s.Logf("llserver: %v", err)
					}
				})
			})
		case *rtmpcodecs.MPEG4Audio:
			rate := codec.Config.SampleRate
			ht := &gohlslib.Track{Codec: &hlscodecs.MPEG4Audio{Config: *codec.Config}, ClockRate: rate}
			m.Tracks = append(m.Tracks, ht)
			onStart = append(onStart, func() {
				r.OnDataMPEG4Audio(t, func(pts time.Duration, au []byte) {
					if err := m.WriteMPEG4Audio(ht, time.Now(), ticks(pts, rate), [][]byte{au}); err != nil {
						s.Logf("llserver: %v", err)
					}
				})
			})
		}
	}
	if len(m.Tracks) == 0 {
		return fmt.Errorf("no supported track (H.264, AAC)")
	}
	if err := m.Start(); err != nil {
		return err
	}
	for _, f := range onStart {
		f()
	}
	s.muxer.Store(m)
	defer func() {
		s.muxer.CompareAndSwap(m, nil)
		m.Close()
	}()
	s.Logf("llserver: %v is publishing %d tracks", c.RemoteAddr(), len(m.Tracks))
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := r.Read(); err != nil {
			return err
		}
	}
}

// ticks converts a duration to a clock of the given rate without overflow.
func ticks(d time.Duration, rate int) int64 {
	sec := int64(d / time.Second)
	rem := int64(d % time.Second)
	return sec*int64(rate) + rem*int64(rate)/int64(time.Second)
}
