package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// llhlsSource runs ffmpeg (testsrc2, x264 without B-frames, one AUD per
// access unit) and repackages its H.264 into LL-HLS with gohlslib.Muxer
// (1 s segments, 200 ms parts). Video only. It serves 404 until the first
// IDR has been muxed, like a track nobody publishes to.
type llhlsSource struct {
	fps   int
	muxer atomic.Pointer[gohlslib.Muxer]
}

// ServeHTTP serves the muxer's playlists and parts.
func (s *llhlsSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := s.muxer.Load()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	m.Handle(w, r)
}

// run feeds ffmpeg's output to the muxer until ctx ends or ffmpeg exits.
func (s *llhlsSource) run(ctx context.Context, size string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", size, s.fps),
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0",
		"-g", fmt.Sprint(s.fps), "-pix_fmt", "yuv420p",
		"-x264-params", "aud=1:repeat-headers=1", "-f", "h264", "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	var track *gohlslib.Track
	var m *gohlslib.Muxer
	defer func() {
		if m != nil {
			m.Close()
		}
	}()
	start := time.Now()
	frame := int64(0)
	return readAccessUnits(out, func(au [][]byte) error {
		if m == nil {
			var sps, pps []byte
			for _, n := range au {
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeSPS:
					sps = n
				case h264.NALUTypePPS:
					pps = n
				}
			}
			if sps == nil || pps == nil {
				return nil // wait for the first IDR with its parameter sets
			}
			track = &gohlslib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}, ClockRate: 90000}
			m = &gohlslib.Muxer{
				Tracks:             []*gohlslib.Track{track},
				Variant:            gohlslib.MuxerVariantLowLatency,
				SegmentCount:       7,
				SegmentMinDuration: time.Second,
				PartMinDuration:    200 * time.Millisecond,
			}
			if err := m.Start(); err != nil {
				return err
			}
			defer s.muxer.Store(m)
		}
		pts := frame * 90000 / int64(s.fps)
		ntp := start.Add(time.Duration(frame) * time.Second / time.Duration(s.fps))
		frame++
		return m.WriteH264(track, ntp, pts, au)
	})
}

// readAccessUnits splits an Annex-B stream into access units at each AUD NAL
// unit and calls fn with the non-AUD NAL units of each.
func readAccessUnits(r io.Reader, fn func(au [][]byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	var au [][]byte
	flushNAL := func(n []byte) error {
		n = bytes.TrimRight(n, "\x00")
		if len(n) == 0 {
			return nil
		}
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			if len(au) > 0 {
				if err := fn(au); err != nil {
					return err
				}
			}
			au = nil
			return nil
		}
		au = append(au, append([]byte(nil), n...))
		return nil
	}
	chunk := make([]byte, 64<<10)
	for {
		n, err := br.Read(chunk)
		buf = append(buf, chunk[:n]...)
		// Emit every complete NAL unit: those followed by another start code.
		for {
			first := bytes.Index(buf, []byte{0, 0, 1})
			if first < 0 {
				break
			}
			next := bytes.Index(buf[first+3:], []byte{0, 0, 1})
			if next < 0 {
				buf = buf[first:]
				break
			}
			if ferr := flushNAL(buf[first+3 : first+3+next]); ferr != nil {
				return ferr
			}
			buf = buf[first+3+next:]
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// serveLLHLS starts the ffmpeg-to-LL-HLS source and returns its handler.
func serveLLHLS(ctx context.Context, size string, fps int) http.Handler {
	s := &llhlsSource{fps: fps}
	go func() {
		if err := s.run(ctx, size); err != nil {
			log.Printf("devserve: llhls source: %v", err)
		}
	}()
	return s
}
