// Command pionserver is the in-process WebRTC baseline the bench compares
// kast's relay with: RTMP in (kast's ingest), WHEP out through plain pion,
// the way most pion-based servers do it: one TrackLocalStaticRTP per
// track shared by every viewer (pion writes, encrypts and sends for each
// viewer in the writer's goroutine), pion's default interceptors (NACK
// responder, reports, TWCC), an ephemeral UDP port per session. AAC goes
// through the same AAC->Opus transcoder as kast's, so both send the same
// media.
//
//	go run ./bench/pionserver -rtmp 127.0.0.1:1938 -http 127.0.0.1:8083
//	go run ./bench -rtmp rtmp://127.0.0.1:1938/live/bench -client whep \
//	    -whep http://127.0.0.1:8083/whep/main -server-pid PID ...
//
// It prints its PID and URLs, and stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/internal/transcode"
)

func main() {
	rtmpAddr := flag.String("rtmp", "127.0.0.1:1938", "RTMP listen address")
	httpAddr := flag.String("http", "127.0.0.1:8083", "HTTP listen address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	if err != nil {
		panic(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pion")
	if err != nil {
		panic(err)
	}
	hub := &ingest.Hub{}
	var live sync.Mutex
	isLive := false
	hub.OnStream(func(s *ingest.Stream) {
		live.Lock()
		isLive = true
		live.Unlock()
		go feed(s, video, audio, log)
	})
	srv := &rtmp.Server{Address: *rtmpAddr, Hub: hub, Logger: log,
		Authorize: func(context.Context, string) (string, error) { return "main", nil }}
	if err := srv.Initialize(); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/main", func(w http.ResponseWriter, r *http.Request) {
		live.Lock()
		ok := isLive
		live.Unlock()
		if !ok {
			http.Error(w, "not live", http.StatusConflict)
			return
		}
		offer, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected {
				pc.Close()
			}
		})
		fail := func(err error) { pc.Close(); http.Error(w, err.Error(), 400) }
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			fail(err)
			return
		}
		for _, tr := range []webrtc.TrackLocal{video, audio} {
			snd, err := pc.AddTrack(tr)
			if err != nil {
				fail(err)
				return
			}
			go func() { // pion's interceptors need RTCP read
				for {
					if _, _, err := snd.ReadRTCP(); err != nil {
						return
					}
				}
			}()
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			fail(err)
			return
		}
		g := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			fail(err)
			return
		}
		<-g
		sessions.Store(fmt.Sprintf("%p", pc), pc)
		w.Header().Set("Location", fmt.Sprintf("/whep/main/%p", pc))
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, pc.LocalDescription().SDP)
	})
	mux.HandleFunc("DELETE /whep/main/{id}", func(w http.ResponseWriter, r *http.Request) {
		if pc, ok := sessions.LoadAndDelete(r.PathValue("id")); ok {
			pc.(*webrtc.PeerConnection).Close()
		}
	})
	hs := &http.Server{Addr: *httpAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.ListenAndServe(); err != http.ErrServerClosed {
			log.Error("http", "err", err)
		}
	}()
	fmt.Printf("pid %d\nrtmp://%s/live/bench\nhttp://%s/whep/main\n", os.Getpid(), *rtmpAddr, *httpAddr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
	hs.Close()
}

var sessions sync.Map

// feed packetizes the stream with pion's H.264 payloader (Annex-B, SPS and
// PPS before each IDR) and writes every packet to the shared tracks.
func feed(s *ingest.Stream, video, audio *webrtc.TrackLocalStaticRTP, log *slog.Logger) {
	r := s.Subscribe(0)
	defer r.Close()
	vp := rtp.NewPacketizer(1200, 96, 1, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	ap := rtp.NewPacketizer(1200, 111, 2, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	var tc *transcode.AACToOpus
	if a := s.Media.Audio; a != nil && a.Codec == ingest.CodecAAC {
		tc = &transcode.AACToOpus{Input: a, Logger: log}
		if err := tc.Initialize(); err != nil {
			log.Warn("no transcoder", "err", err)
			tc = nil
		} else {
			defer tc.Close()
		}
	}
	var opus <-chan *ingest.Unit
	if tc != nil {
		opus = tc.Output()
	}
	var lastV, lastA time.Duration
	haveV, haveA := false, false
	for {
		select {
		case u, ok := <-r.Units():
			if !ok {
				return
			}
			if u.Kind == ingest.KindAudio {
				if tc != nil {
					tc.Write(u)
				}
				continue
			}
			var annexB []byte
			if u.Key {
				for _, n := range [][]byte{s.Media.Video.SPS, s.Media.Video.PPS} {
					annexB = append(append(annexB, 0, 0, 0, 1), n...)
				}
			}
			for _, n := range u.NALUs {
				annexB = append(append(annexB, 0, 0, 0, 1), n...)
			}
			samples := uint32(3000)
			if haveV {
				samples = uint32((u.PTS - lastV) * 90000 / time.Second)
			}
			lastV, haveV = u.PTS, true
			for _, p := range vp.Packetize(annexB, samples) {
				_ = video.WriteRTP(p)
			}
		case u, ok := <-opus:
			if !ok {
				opus = nil
				continue
			}
			samples := uint32(960)
			if haveA {
				samples = uint32((u.PTS - lastA) * 48000 / time.Second)
			}
			lastA, haveA = u.PTS, true
			for _, p := range ap.Packetize(u.Frame, samples) {
				_ = audio.WriteRTP(p)
			}
		}
	}
}
