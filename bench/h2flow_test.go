package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"golang.org/x/net/http2"
)

// writeConn records what is written to it.
type writeConn struct {
	net.Conn
	buf bytes.Buffer
}

func (w *writeConn) Write(p []byte) (int, error) { return w.buf.Write(p) }

func TestBrowserFlow(t *testing.T) {
	// What Go's client writes: the preface, SETTINGS, the connection's
	// first 1-GB update, then per stream a HEADERS and an update of the
	// connection and the stream per 4 KB read.
	var in bytes.Buffer
	in.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&in, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 4 << 20})
	fr.WriteWindowUpdate(0, 1<<30)
	var connSum, wantFrames int
	for id := uint32(1); id < 2*600; id += 2 {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0x82}, EndStream: true, EndHeaders: true})
		for i := 0; i < 25; i++ { // 100 KB read
			fr.WriteWindowUpdate(0, 4096)
			fr.WriteWindowUpdate(id, 4096)
			connSum += 4096
		}
		wantFrames++
	}
	// One stream that reads 3 MB: its update goes out at 2 MB.
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1201, BlockFragment: []byte{0x82}, EndStream: true, EndHeaders: true})
	for i := 0; i < 750; i++ {
		fr.WriteWindowUpdate(1201, 4096)
	}
	wantFrames++
	fr.WritePing(false, [8]byte{1})
	wantFrames++

	out := &writeConn{}
	bf := newBrowserFlow(out)
	src := in.Bytes()
	for len(src) > 0 { // written in pieces that cut frames anywhere
		k := min(len(src), 1+rand.IntN(40))
		if n, err := bf.Write(src[:k]); n != k || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
		src = src[k:]
	}

	got := out.buf.Bytes()
	if !bytes.HasPrefix(got, []byte(http2.ClientPreface)) {
		t.Fatal("the preface was not passed on")
	}
	rd := http2.NewFramer(nil, bytes.NewReader(got[len(http2.ClientPreface):]))
	var frames, connUpdates, streamUpdates int
	var connGot, streamGot uint64
	for {
		f, err := rd.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				connUpdates++
				connGot += uint64(f.Increment)
			} else {
				streamUpdates++
				streamGot += uint64(f.Increment)
				if f.StreamID != 1201 || f.Increment < browserStreamUpdate {
					t.Errorf("stream update %d on stream %d", f.Increment, f.StreamID)
				}
			}
		case *http2.HeadersFrame, *http2.PingFrame:
			frames++
		}
	}
	if frames != wantFrames {
		t.Errorf("%d HEADERS and PING frames passed on, want %d", frames, wantFrames)
	}
	// The first 1-GB update, then one per 7.5 MB: 60 MB read gives 8.
	if connUpdates != 1+connSum/browserConnUpdate || connGot > 1<<30+uint64(connSum) {
		t.Errorf("%d connection updates (%d bytes), want %d", connUpdates, connGot, 1+connSum/browserConnUpdate)
	}
	if streamUpdates != 1 || streamGot != browserStreamUpdate {
		t.Errorf("%d stream updates (%d bytes), want one of %d", streamUpdates, streamGot, browserStreamUpdate)
	}
}
