package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/kastlive/kast/internal/testutil"
)

// refMsg is a message as a chunk-stream reader returns it.
type refMsg struct {
	ts   uint32
	typ  uint8
	msid uint32
	body []byte
}

func (m refMsg) String() string {
	return fmt.Sprintf("{ts %d type %d msid %d %d bytes}", m.ts, m.typ, m.msid, len(m.body))
}

// refDecode is a reference reader of RTMP chunks written for these tests
// from gortmplib's reading rules (rawmessage.Reader plus the Set Chunk
// Size and Abort handling of message.Reader), extended to every chunk
// stream ID. What gortmplib makes of the rewriter's output must equal
// what this makes of the input.
func refDecode(data []byte, maxMsgs int) ([]refMsg, error) {
	type stream struct {
		valid                   bool
		ts, delta, length, recv uint32
		typ                     uint8
		msid                    uint32
		ext                     bool
		body                    []byte
	}
	r := bytes.NewReader(data)
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	be24 := func(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
	chunkSize := uint32(128)
	streams := map[uint32]*stream{}
	var msgs []refMsg
	for len(msgs) < maxMsgs {
		b0, err := r.ReadByte()
		if err != nil {
			return msgs, err
		}
		f, id := b0>>6, uint32(b0&0x3f)
		switch id {
		case 0:
			b, err := read(1)
			if err != nil {
				return msgs, err
			}
			id = 64 + uint32(b[0])
		case 1:
			b, err := read(2)
			if err != nil {
				return msgs, err
			}
			id = 64 + uint32(b[0]) + 256*uint32(b[1])
		}
		s := streams[id]
		if s == nil {
			s = &stream{}
			streams[id] = s
		}
		h, err := read([]int{11, 7, 3, 0}[f])
		if err != nil {
			return msgs, err
		}
		ext := func(v uint32) (uint32, error) {
			if v != 0xFFFFFF {
				return v, nil
			}
			b, err := read(4)
			if err != nil {
				return 0, err
			}
			return binary.BigEndian.Uint32(b), nil
		}
		switch f {
		case 0:
			if s.recv != 0 {
				return msgs, errors.New("type 0 inside a message")
			}
			ts, err := ext(be24(h))
			if err != nil {
				return msgs, err
			}
			*s = stream{valid: true, ts: ts, length: be24(h[3:]), typ: h[6], msid: binary.BigEndian.Uint32(h[7:]), ext: ts >= 0xFFFFFF}
		case 1, 2:
			if !s.valid || s.recv != 0 {
				return msgs, errors.New("type 1/2 out of place")
			}
			d, err := ext(be24(h))
			if err != nil {
				return msgs, err
			}
			s.ts += d
			s.delta = d
			s.ext = d >= 0xFFFFFF
			if f == 1 {
				s.length, s.typ = be24(h[3:]), h[6]
			}
		case 3:
			if s.ext {
				if _, err := read(4); err != nil {
					return msgs, err
				}
			}
			if s.recv == 0 {
				if !s.valid {
					return msgs, errors.New("type 3 first")
				}
				s.ts += s.delta
			}
		}
		if f < 2 && s.length > testMaxMessage {
			return msgs, errTooBig
		}
		b, err := read(int(min(s.length-s.recv, chunkSize)))
		if err != nil {
			return msgs, err
		}
		s.body = append(s.body, b...)
		s.recv += uint32(len(b))
		if s.recv != s.length {
			continue
		}
		m := refMsg{ts: s.ts, typ: s.typ, msid: s.msid, body: s.body}
		if m.body == nil {
			m.body = []byte{}
		}
		s.body, s.recv = nil, 0
		msgs = append(msgs, m)
		switch m.typ {
		case 1, 2:
			if len(m.body) != 4 {
				return msgs, errors.New("invalid control message")
			}
			v := binary.BigEndian.Uint32(m.body)
			if m.typ == 1 {
				if v > maxMessageSize {
					return msgs, errors.New("chunk size too big")
				}
				chunkSize = v
			} else if t := streams[v]; t != nil && t.recv != 0 {
				t.recv, t.length, t.body = 0, 0, nil
			}
		}
	}
	return msgs, nil
}

// gortmplibDecode reads messages with gortmplib's raw message reader,
// applying Set Chunk Size and Abort Message as its message reader does.
func gortmplibDecode(r io.Reader, maxMsgs int) ([]refMsg, error) {
	rr := rawmessage.NewReader(r, bytecounter.NewReader(bytes.NewReader(nil)), nil)
	var msgs []refMsg
	for len(msgs) < maxMsgs {
		m, err := rr.Read()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, refMsg{ts: uint32(m.Timestamp / time.Millisecond), typ: m.Type, msid: m.MessageStreamID, body: m.Body})
		switch m.Type {
		case 1, 2:
			if len(m.Body) != 4 {
				return msgs, errors.New("invalid control message")
			}
			v := binary.BigEndian.Uint32(m.Body)
			if m.Type == 1 {
				if err := rr.SetChunkSize(v); err != nil {
					return msgs, err
				}
			} else {
				rr.AbortChunkStream(v)
			}
		}
	}
	return msgs, nil
}

// testMaxMessage bounds messages in tests, and so what gortmplib
// allocates per chunk header whatever the input.
const testMaxMessage = 64 << 10

// rewritten returns a rewriter past the handshake, authorized but with
// messages up to testMaxMessage.
func rewritten(r io.Reader) *chunkRewriter {
	w := &chunkRewriter{r: r}
	w.SetAuthorized()
	w.st.maxMessage = testMaxMessage
	return w
}

// errTooBig is refDecode's answer to a message over testMaxMessage.
var errTooBig = errors.New("message over 64 KiB")

// withoutAborts drops Abort Messages, which the rewriter renumbers.
func withoutAborts(msgs []refMsg) []refMsg {
	var out []refMsg
	for _, m := range msgs {
		if m.typ != msgTypeAbort {
			out = append(out, m)
		}
	}
	return out
}

func sameMessages(a, b []refMsg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ts != b[i].ts || a[i].typ != b[i].typ || a[i].msid != b[i].msid || !bytes.Equal(a[i].body, b[i].body) {
			return false
		}
	}
	return true
}

func isPrefix(a, b []refMsg) bool { return len(a) <= len(b) && sameMessages(a, b[:len(a)]) }

// checkRewriter holds the rewriter to the reference on any input: what
// gortmplib reads through it is what the reference reads, or a prefix of
// it when the rewriter refuses the input; and where gortmplib can read the
// input itself (1-byte headers only), the reference agrees with it.
func checkRewriter(t *testing.T, data []byte) {
	t.Helper()
	const max = 1000
	ref, refErr := refDecode(data, max)
	got, gotErr := gortmplibDecode(rewritten(bytes.NewReader(data)), max)
	ref, got = withoutAborts(ref), withoutAborts(got)
	var ce *chunkError
	if errors.As(gotErr, &ce) {
		if !isPrefix(got, ref) {
			t.Fatalf("through the rewriter (stopped: %v):\n%v\nreference (stopped: %v):\n%v", gotErr, got, refErr, ref)
		}
	} else if !sameMessages(got, ref) {
		t.Fatalf("through the rewriter (stopped: %v):\n%v\nreference (stopped: %v):\n%v", gotErr, got, refErr, ref)
	}
	if refErr == errTooBig {
		return // gortmplib alone would allocate chunks of up to 10 MiB
	}
	direct, directErr := gortmplibDecode(bytes.NewReader(data), max)
	direct = withoutAborts(direct)
	if !isPrefix(direct, ref) || (directErr == io.EOF || directErr == nil) && !sameMessages(direct, ref) {
		t.Fatalf("gortmplib alone (stopped: %v):\n%v\nreference (stopped: %v):\n%v", directErr, direct, refErr, ref)
	}
}

// randomStream writes random messages on random chunk streams (small and
// extended IDs, more than gortmplib's 62), with random header types,
// interleaved chunks, chunk size changes, extended timestamps and
// aborted messages. It returns the bytes and the messages a reader must
// return, in order.
func randomStream(rng *rand.Rand, wide bool, ops int) ([]byte, []refMsg) {
	ids := []uint32{3, 4, 5, 6, 63, 64, 65, 100, 318, 319, 320, 321, 1000, 65598, 65599}
	for range 70 {
		ids = append(ids, 3+rng.Uint32N(65597))
	}
	w := &testutil.ChunkWriter{Wide: wide, Pick: func(allowed [4]bool) int {
		for {
			if t := rng.IntN(4); allowed[t] {
				return t
			}
		}
	}}
	type active struct {
		msg    refMsg
		chunks [][]byte
		sent   int
	}
	var out bytes.Buffer
	var want []refMsg
	act := map[uint32]*active{}
	ts := map[uint32]uint32{}
	msid := []uint32{0, 1, 0x01000000}
	for range ops {
		switch op := rng.IntN(20); {
		case op == 0 && len(act) == 0:
			size := []uint32{1, 2, 3, 4, 7, 128, 4096, 65536}[rng.IntN(8)]
			if err := w.SetChunkSize(&out, size); err != nil {
				panic(err)
			}
			want = append(want, refMsg{typ: 1, body: binary.BigEndian.AppendUint32(nil, size)})
		case op == 1:
			for id, a := range act {
				if a.sent == 0 || a.sent == len(a.chunks) {
					continue
				}
				if err := w.Write(&out, testutil.ChunkMessage{ChunkStreamID: 2, Type: 2, Body: binary.BigEndian.AppendUint32(nil, id)}); err != nil {
					panic(err)
				}
				w.Aborted(id)
				delete(act, id)
				break
			}
		case op < 8 || len(act) == 0:
			id := ids[rng.IntN(len(ids))]
			if act[id] != nil {
				continue
			}
			// Timestamps: small steps, equal ones (type 3), jumps past
			// 24 bits, and large deltas.
			switch rng.IntN(6) {
			case 0:
			case 1:
				ts[id] += 0xFFFFFF + rng.Uint32N(1000)
			case 2:
				ts[id] = 0xFFFFF0 + rng.Uint32N(40)
			default:
				ts[id] += rng.Uint32N(100)
			}
			body := make([]byte, []int{0, 1, 4, 100, 128, 129, 300, 5000}[rng.IntN(8)])
			for i := range body {
				body[i] = byte(rng.Uint32())
			}
			typ := []uint8{8, 9, 18, 20}[rng.IntN(4)]
			m := testutil.ChunkMessage{ChunkStreamID: id, Timestamp: ts[id], Type: typ, StreamID: msid[rng.IntN(3)], Body: body}
			chunks, err := w.Chunks(m)
			if err != nil {
				panic(err)
			}
			act[id] = &active{msg: refMsg{ts: m.Timestamp, typ: typ, msid: m.StreamID, body: body}, chunks: chunks}
		default:
			for id, a := range act {
				out.Write(a.chunks[a.sent])
				a.sent++
				if a.sent == len(a.chunks) {
					want = append(want, a.msg)
					delete(act, id)
				}
				break
			}
		}
	}
	for id, a := range act {
		for _, c := range a.chunks[a.sent:] {
			out.Write(c)
		}
		want = append(want, a.msg)
		delete(act, id)
	}
	return out.Bytes(), want
}

func TestChunkRewriterRandomStreams(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 1))
		data, want := randomStream(rng, seed%2 == 1, 600)
		ref, err := refDecode(data, 1<<20)
		if err != io.EOF || !sameMessages(withoutAborts(ref), want) {
			t.Fatalf("seed %d: the reference reads %d messages (%v), want %d", seed, len(withoutAborts(ref)), err, len(want))
		}
		readers := map[string]io.Reader{"whole": bytes.NewReader(data)}
		// Reads cut anywhere: one byte at a time, or half of what is asked.
		if seed%10 == 0 {
			readers["halves"] = iotest.HalfReader(bytes.NewReader(data))
		}
		if seed%30 == 0 {
			readers["one byte"] = iotest.OneByteReader(bytes.NewReader(data))
		}
		for name, r := range readers {
			got, err := gortmplibDecode(rewritten(r), 1<<20)
			if err != io.EOF || !sameMessages(withoutAborts(got), want) {
				t.Fatalf("seed %d, %s reads: gortmplib reads %d messages through the rewriter (%v), want %d",
					seed, name, len(withoutAborts(got)), err, len(want))
			}
		}
		checkRewriter(t, data)
	}
}

// TestChunkRewriterIdentity: a stream gortmplib can read itself goes
// through byte for byte.
func TestChunkRewriterIdentity(t *testing.T) {
	for _, data := range [][]byte{seedStream(false), seedStream(true)} {
		out, err := io.ReadAll(rewritten(bytes.NewReader(data)))
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("rewritten %d bytes into %d (%v)", len(data), len(out), err)
		}
	}
}

func TestChunkRewriterExtendedIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   uint32
		wide bool
	}{
		{"2-byte header, ID 64", 64, false},
		{"2-byte header, ID 319", 319, false},
		{"3-byte header, ID 64", 64, true},
		{"3-byte header, ID 320", 320, false},
		{"3-byte header, ID 65599", 65599, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := &testutil.ChunkWriter{Wide: tc.wide}
			for i := range 5 {
				w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: tc.id, Timestamp: uint32(i * 33), Type: 9, StreamID: 1, Body: bytes.Repeat([]byte{byte(i)}, 300)})
			}
			direct, err := gortmplibDecode(bytes.NewReader(buf.Bytes()), 10)
			if len(direct) != 0 || err == nil {
				t.Fatalf("gortmplib read extended IDs itself: %v %v (the rewriter may be unneeded now)", direct, err)
			}
			rw := rewritten(bytes.NewReader(buf.Bytes()))
			got, err := gortmplibDecode(rw, 10)
			if err != io.EOF || len(got) != 5 || got[4].ts != 132 || len(got[4].body) != 300 || got[4].body[0] != 4 {
				t.Fatalf("got %v (%v)", got, err)
			}
			if rw.ExtendedChunks() != 15 {
				t.Fatalf("%d chunks with extended headers, want 15", rw.ExtendedChunks())
			}
		})
	}
}

// TestChunkRewriterReusesIDs uses 100 chunk streams round-robin, more than
// the 62 gortmplib keeps, with compressed headers (type 3 and type 2
// chunks rely on state that gortmplib's reused stream does not have).
func TestChunkRewriterReusesIDs(t *testing.T) {
	var buf bytes.Buffer
	var want []refMsg
	w := &testutil.ChunkWriter{}
	for round := range 4 {
		for i := range 100 {
			id := uint32(64 + i*3)
			ts := uint32(round*40) + 0xFFFFF0*uint32(i%2)
			body := bytes.Repeat([]byte{byte(i), byte(round)}, 100)
			w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: id, Timestamp: ts, Type: 8, StreamID: 1, Body: body})
			want = append(want, refMsg{ts: ts, typ: 8, msid: 1, body: body})
		}
	}
	got, err := gortmplibDecode(rewritten(bytes.NewReader(buf.Bytes())), 1000)
	if err != io.EOF || !sameMessages(got, want) {
		t.Fatalf("got %d of %d messages (%v)", len(got), len(want), err)
	}
}

func TestChunkRewriterAbortsExtendedStream(t *testing.T) {
	var buf bytes.Buffer
	w := &testutil.ChunkWriter{}
	chunks, _ := w.Chunks(testutil.ChunkMessage{ChunkStreamID: 500, Type: 9, StreamID: 1, Body: make([]byte, 300)})
	buf.Write(chunks[0]) // 128 of 300 bytes, then the abort
	w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 2, Type: 2, Body: []byte{0, 0, 1, 0xf4}})
	w.Aborted(500)
	w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 500, Timestamp: 10, Type: 9, StreamID: 1, Body: []byte{1, 2, 3}})
	got, err := gortmplibDecode(rewritten(bytes.NewReader(buf.Bytes())), 10)
	got = withoutAborts(got)
	if err != io.EOF || len(got) != 1 || !bytes.Equal(got[0].body, []byte{1, 2, 3}) || got[0].ts != 10 {
		t.Fatalf("got %v (%v)", got, err)
	}
}

func TestChunkRewriterRefuses(t *testing.T) {
	msg := func(m testutil.ChunkMessage) []byte {
		var b bytes.Buffer
		(&testutil.ChunkWriter{}).Write(&b, m)
		return b.Bytes()
	}
	for _, tc := range []struct {
		name       string
		data       []byte
		authorized bool
	}{
		{"a large message before authorization", msg(testutil.ChunkMessage{ChunkStreamID: 3, Type: 20, Body: make([]byte, preAuthMaxMessage+1)}), false},
		{"a message over 10 MiB", msg(testutil.ChunkMessage{ChunkStreamID: 3, Type: 20, Body: make([]byte, maxMessageSize+1)}), true},
		{"too many bytes before authorization", bytes.Repeat(msg(testutil.ChunkMessage{ChunkStreamID: 3, Type: 20, Body: make([]byte, 10000)}), 4), false},
		{"too many chunk streams before authorization", func() []byte {
			var b bytes.Buffer
			w := &testutil.ChunkWriter{}
			for i := range preAuthMaxStreams + 1 {
				w.Write(&b, testutil.ChunkMessage{ChunkStreamID: uint32(3 + i), Type: 20, Body: []byte{5}})
			}
			return b.Bytes()
		}(), false},
		{"chunk size 0", msg(testutil.ChunkMessage{ChunkStreamID: 2, Type: 1, Body: []byte{0, 0, 0, 0}}), true},
		{"chunk size over 10 MiB", msg(testutil.ChunkMessage{ChunkStreamID: 2, Type: 1, Body: []byte{0x7f, 0, 0, 0}}), true},
		{"a 5-byte abort", msg(testutil.ChunkMessage{ChunkStreamID: 2, Type: 2, Body: make([]byte, 5)}), true},
		{"type 1 first", []byte{0x43, 0, 0, 0, 0, 0, 1, 9, 0}, true},
		{"type 3 first", []byte{0xc0, 10, 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rw := &chunkRewriter{r: bytes.NewReader(tc.data)}
			if tc.authorized {
				rw.SetAuthorized()
			}
			rw.state()
			_, err := io.ReadAll(rw)
			var ce *chunkError
			if !errors.As(err, &ce) {
				t.Fatalf("read ended with %v, want a chunk error", err)
			}
			t.Log(err)
		})
	}
	// More than 1,024 chunk streams.
	var b bytes.Buffer
	w := &testutil.ChunkWriter{}
	for i := range maxKnownStreams + 1 {
		w.Write(&b, testutil.ChunkMessage{ChunkStreamID: uint32(64 + i), Type: 8, Body: []byte{1}})
	}
	_, err := io.ReadAll(rewritten(&b))
	var ce *chunkError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "chunk streams") {
		t.Fatalf("%d chunk streams: %v", maxKnownStreams+1, err)
	}
}

func TestChunkRewriterRefusesRTMPE(t *testing.T) {
	rw := newChunkRewriter(bytes.NewReader(append([]byte{6}, make([]byte, 1536)...)), nil)
	if _, err := rw.Read(make([]byte, 1)); err == nil {
		t.Fatal("RTMPE handshake passed")
	}
}

func TestChunkRewriterHandshakePassesThrough(t *testing.T) {
	hs := make([]byte, handshakeLen)
	hs[0] = 3
	for i := 1; i < len(hs); i++ {
		hs[i] = byte(i)
	}
	var buf bytes.Buffer
	(&testutil.ChunkWriter{}).Write(&buf, testutil.ChunkMessage{ChunkStreamID: 300, Type: 20, Body: []byte("x")})
	c0c1 := 0
	rw := newChunkRewriter(iotest.HalfReader(bytes.NewReader(append(hs, buf.Bytes()...))), func() { c0c1++ })
	out, err := io.ReadAll(rw)
	if err != nil || !bytes.Equal(out[:handshakeLen], hs) || c0c1 != 1 {
		t.Fatalf("handshake changed (%v, C0+C1 reported %d times)", err, c0c1)
	}
	// ID 300 became gortmplib's 63 with a 1-byte header.
	if out[handshakeLen] != 63 || len(out) != handshakeLen+12+1 {
		t.Fatalf("chunk after the handshake: % x", out[handshakeLen:])
	}
}

// TestChunkRewriterDoesNotHoldMessages: once a whole message is in, the
// reader gets it without waiting for more bytes (the client waits for
// the answer to it).
func TestChunkRewriterDoesNotHoldMessages(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		w := &testutil.ChunkWriter{}
		w.Write(pw, testutil.ChunkMessage{ChunkStreamID: 3, Type: 20, Body: make([]byte, 200)})
		w.Write(pw, testutil.ChunkMessage{ChunkStreamID: 70, Type: 20, Body: make([]byte, 10)})
	}()
	done := make(chan error, 1)
	go func() {
		msgs, err := gortmplibDecode(rewritten(pr), 2)
		if err == nil && len(msgs) != 2 {
			err = fmt.Errorf("%d messages", len(msgs))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("messages held back until more bytes come")
	}
}

// BenchmarkChunkRewriter reads a publish-like stream (10 KB video and
// small audio messages, chunk size 4096, as OBS sends) with gortmplib's
// reader alone and through the rewriter.
func BenchmarkChunkRewriter(b *testing.B) {
	var buf bytes.Buffer
	w := &testutil.ChunkWriter{}
	w.SetChunkSize(&buf, 4096)
	for i := range 300 {
		w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 6, Timestamp: uint32(i * 33), Type: 9, StreamID: 1, Body: make([]byte, 10000)})
		w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 4, Timestamp: uint32(i * 33), Type: 8, StreamID: 1, Body: make([]byte, 300)})
	}
	data := buf.Bytes()
	for _, tc := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"gortmplib", func(r io.Reader) io.Reader { return r }},
		{"rewriter+gortmplib", func(r io.Reader) io.Reader { return rewritten(r) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if msgs, err := gortmplibDecode(tc.wrap(bytes.NewReader(data)), 1000); err != io.EOF || len(msgs) != 601 {
					b.Fatal(len(msgs), err)
				}
			}
		})
	}
}
