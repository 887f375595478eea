package rtmp

import (
	"bufio"
	"encoding/binary"
	"io"
)

// chunkRewriter sits between a publisher's connection and gortmplib.
//
// gortmplib v1.0.2 reads only 1-byte chunk basic headers (chunk stream IDs
// 2-63) and ends the connection on a 2- or 3-byte one (IDs 64-65599, RTMP
// 1.0 section 5.3.1.1), which some encoders send. The rewriter passes the
// handshake through unchanged, then reads every chunk header itself and
// gives gortmplib an equivalent stream in which each chunk stream the
// client uses is mapped, for the life of the connection, to one of the 62
// IDs gortmplib takes: the client's own ID when it is free, otherwise a
// free one counted down from 63. Payload bytes go through untouched and
// unbuffered; only headers are rewritten.
//
// The rewriter keeps the header state of every chunk stream on both sides
// (the client's and gortmplib's), as gortmplib computes it. When the two
// agree, a header is forwarded as it came with its new ID. When they do
// not (gortmplib's stream was given to another client stream after 62 were
// in use, or a message was kept from it), it writes a type 0 header with
// the absolute values instead, and adds or strips the extended timestamp of
// type 3 continuation chunks to match what gortmplib expects. It follows
// Set Chunk Size messages (chunk boundaries depend on them) and turns an
// Abort Message naming a client stream into one naming gortmplib's.
//
// Before SetAuthorized a client gets little (preAuthMaxMessage,
// preAuthMaxStreams, preAuthMaxBytes), and the rewriter never reads a
// chunk header ahead of what gortmplib asked for, so the limits apply up
// to the publish command exactly and not to media an encoder sends right
// after it. Encrypted RTMP (RTMPE), whose chunks cannot be read here, is
// refused.
type chunkRewriter struct {
	r io.Reader
	// onC0C1 is called once C0 and C1 (the first 1,537 bytes) are in.
	onC0C1 func()

	handshakeLeft int
	err           error
	st            *chunkState // allocated when the handshake is done
}

// chunkState is the rewriter's state once chunks flow. It is allocated
// only after the handshake, so an idle connection costs none of it.
type chunkState struct {
	br         *bufio.Reader
	chunkSize  uint32
	authorized bool
	maxMessage uint32
	maxStreams int
	budget     int // bytes gortmplib may still get before authorization; <0: no limit
	clock      uint64

	small   [maxTargetID + 1]*clientStream
	large   map[uint32]*clientStream
	known   int
	targets [maxTargetID + 1]targetStream

	rh      rawHeader
	outBuf  [64]byte
	out     []byte        // header bytes not yet returned
	left    uint32        // payload bytes of the current chunk still to read
	cur     *clientStream // the stream of the current chunk
	curTgt  *targetStream // where its payload goes; nil: kept back
	observe bool          // copy the payload into cur.ctl (Set Chunk Size)

	// Extended counts chunks that came with a 2- or 3-byte basic header.
	extended uint64
}

// clientStream is one chunk stream as the client numbers it.
type clientStream struct {
	id      uint32
	h       chunkHeader
	target  byte // gortmplib chunk stream ID; 0: none
	lastUse uint64
	ctl     [4]byte // body of a Set Chunk Size or Abort Message
}

// targetStream is one of gortmplib's chunk streams.
type targetStream struct {
	h     chunkHeader
	owner *clientStream
}

func newChunkRewriter(r io.Reader, onC0C1 func()) *chunkRewriter {
	return &chunkRewriter{r: r, onC0C1: onC0C1, handshakeLeft: handshakeLen}
}

// SetAuthorized lifts the limits of a stranger: messages up to
// gortmplib's own limit (10 MiB), 1,024 chunk streams, no byte budget.
func (w *chunkRewriter) SetAuthorized() {
	s := w.state()
	s.authorized = true
	s.maxMessage, s.maxStreams, s.budget = maxMessageSize, maxKnownStreams, -1
}

// ExtendedChunks returns how many chunks came with 2- or 3-byte basic
// headers.
func (w *chunkRewriter) ExtendedChunks() uint64 {
	if w.st == nil {
		return 0
	}
	return w.st.extended
}

func (w *chunkRewriter) state() *chunkState {
	if w.st == nil {
		w.st = &chunkState{
			br:         bufio.NewReaderSize(w.r, 1024), // payloads bypass it
			chunkSize:  128,
			maxMessage: preAuthMaxMessage,
			maxStreams: preAuthMaxStreams,
			budget:     preAuthMaxBytes,
		}
	}
	return w.st
}

// Read returns the rewritten stream.
func (w *chunkRewriter) Read(p []byte) (int, error) {
	if w.handshakeLeft > 0 {
		return w.readHandshake(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	s := w.state()
	n := 0
	for n < len(p) {
		if len(s.out) > 0 {
			c := copy(p[n:], s.out)
			s.out = s.out[c:]
			n += c
			continue
		}
		if s.left > 0 {
			m, progressed, err := s.payload(p[n:], n == 0)
			n += m
			if err != nil {
				return w.fail(n, err)
			}
			if !progressed {
				break
			}
			continue
		}
		// Holding bytes already, parse the next header only if it cannot
		// block (the client may be waiting for the answer to them), and
		// never before authorization (the limits must not apply to what
		// follows the publish command).
		if n > 0 && (!s.authorized || s.br.Buffered() < maxChunkHeader) {
			break
		}
		if err := s.next(); err != nil {
			return w.fail(n, err)
		}
	}
	if s.budget >= 0 {
		if s.budget -= n; s.budget < 0 {
			return w.fail(0, chunkErrorf("more than %d bytes before the publish command", preAuthMaxBytes))
		}
	}
	return n, nil
}

func (w *chunkRewriter) fail(n int, err error) (int, error) {
	w.err = err
	if n > 0 {
		return n, nil
	}
	return 0, err
}

func (w *chunkRewriter) readHandshake(p []byte) (int, error) {
	if len(p) > w.handshakeLeft {
		p = p[:w.handshakeLeft]
	}
	n, err := w.r.Read(p)
	if n > 0 && w.handshakeLeft == handshakeLen && p[0] == 6 {
		w.err = chunkErrorf("encrypted RTMP (RTMPE) is not offered: use RTMPS")
		return 0, w.err
	}
	before := w.handshakeLeft
	w.handshakeLeft -= n
	if before > handshakeLen-handshakeC0C1 && w.handshakeLeft <= handshakeLen-handshakeC0C1 && w.onC0C1 != nil {
		w.onC0C1()
	}
	return n, err
}

// payload moves payload bytes of the current chunk, into dst when they
// go to gortmplib. It blocks only when block is set.
func (s *chunkState) payload(dst []byte, block bool) (n int, progressed bool, err error) {
	want := int(s.left)
	if s.curTgt != nil {
		want = min(want, len(dst))
	}
	if !block {
		b := s.br.Buffered()
		if b == 0 {
			return 0, false, nil
		}
		want = min(want, b)
	}
	cs := s.cur
	var m int
	if s.curTgt != nil {
		m, err = s.br.Read(dst[:want])
		if s.observe {
			copy(cs.ctl[cs.h.recv:], dst[:m])
		}
		n = m
	} else {
		m, err = s.br.Read(cs.ctl[cs.h.recv : cs.h.recv+uint32(want)])
	}
	if m > 0 {
		cs.h.recv += uint32(m)
		if s.curTgt != nil {
			s.curTgt.h.recv += uint32(m)
		}
		s.left -= uint32(m)
		if s.left == 0 {
			if e := s.endChunk(); e != nil {
				return n, true, e
			}
		}
	}
	if err == io.EOF && (s.left > 0 || cs.h.recv > 0) {
		err = io.ErrUnexpectedEOF
	}
	return n, m > 0, err
}

// next reads the next chunk header and prepares what gortmplib gets.
func (s *chunkState) next() error {
	rh := &s.rh
	if err := s.readHeader(rh); err != nil {
		return err
	}
	cs, err := s.stream(rh.csid)
	if err != nil {
		return err
	}
	continuation := rh.fmt == 3 && cs.h.recv != 0
	// Whether a type 3 chunk carries an extended timestamp depends on
	// the stream's state.
	rh.hasExt = rh.fmt < 3 && rh.field == extendedTimestamp || rh.fmt == 3 && cs.h.ext
	if rh.hasExt {
		if _, err := io.ReadFull(s.br, rh.extRaw[:]); err != nil {
			return unexpected(err)
		}
		rh.extVal = binary.BigEndian.Uint32(rh.extRaw[:])
	}
	if err := cs.h.apply(rh); err != nil {
		return err
	}
	s.clock++
	cs.lastUse = s.clock
	if !continuation {
		if cs.h.length > s.maxMessage {
			return chunkErrorf("message of %d bytes on chunk stream %d is over the limit of %d", cs.h.length, rh.csid, s.maxMessage)
		}
		if (cs.h.typ == msgTypeSetChunkSize || cs.h.typ == msgTypeAbort) && cs.h.length != 4 {
			return chunkErrorf("control message of type %d with %d bytes (want 4)", cs.h.typ, cs.h.length)
		}
	}
	s.cur = cs
	s.observe = cs.h.typ == msgTypeSetChunkSize
	s.left = min(cs.h.length-cs.h.recv, s.chunkSize)
	s.out = s.outBuf[:0]

	switch {
	case cs.h.typ == msgTypeAbort:
		// Kept back: gortmplib would take the client's ID at its word.
		// endChunk sends an abort of gortmplib's stream instead.
		s.curTgt = nil
	case continuation:
		t := &s.targets[cs.target]
		s.curTgt = t
		s.out = append(s.out, 3<<6|cs.target)
		if t.h.ext {
			if rh.hasExt {
				s.out = append(s.out, rh.extRaw[:]...)
			} else {
				s.out = binary.BigEndian.AppendUint32(s.out, t.h.ts)
			}
		}
	default:
		id, err := s.bind(cs)
		if err != nil {
			return err
		}
		t := &s.targets[id]
		s.curTgt = t
		pred := t.h
		if pred.apply(rh) == nil && pred == cs.h {
			t.h = pred
			s.out = append(s.out, rh.fmt<<6|id)
			s.out = append(s.out, rh.msg[:rh.msgLen]...)
			if rh.hasExt {
				s.out = append(s.out, rh.extRaw[:]...)
			}
		} else {
			t.h = chunkHeader{valid: true, ts: cs.h.ts, length: cs.h.length, typ: cs.h.typ, msid: cs.h.msid,
				ext: cs.h.ts >= extendedTimestamp}
			s.out = t.h.appendType0(s.out, id)
		}
	}
	if s.left == 0 {
		return s.endChunk()
	}
	return nil
}

func (s *chunkState) readHeader(rh *rawHeader) error {
	b0, err := s.br.ReadByte()
	if err != nil {
		return err // io.EOF between chunks is a clean end
	}
	rh.fmt = b0 >> 6
	switch id := b0 & 0x3f; id {
	case 0:
		b, err := s.br.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		rh.csid = 64 + uint32(b)
		s.extended++
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(s.br, b[:]); err != nil {
			return unexpected(err)
		}
		rh.csid = 64 + uint32(b[0]) + uint32(b[1])<<8
		s.extended++
	default:
		rh.csid = uint32(id)
	}
	rh.msgLen = messageHeaderLen[rh.fmt]
	if _, err := io.ReadFull(s.br, rh.msg[:rh.msgLen]); err != nil {
		return unexpected(err)
	}
	m := rh.msg[:]
	if rh.fmt < 3 {
		rh.field = uint32(m[0])<<16 | uint32(m[1])<<8 | uint32(m[2])
	}
	if rh.fmt < 2 {
		rh.length = uint32(m[3])<<16 | uint32(m[4])<<8 | uint32(m[5])
		rh.typ = m[6]
	}
	if rh.fmt == 0 {
		rh.msid = binary.BigEndian.Uint32(m[7:11])
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// stream returns the client's chunk stream id, new or known.
func (s *chunkState) stream(id uint32) (*clientStream, error) {
	if id <= maxTargetID {
		if cs := s.small[id]; cs != nil {
			return cs, nil
		}
	} else if cs := s.large[id]; cs != nil {
		return cs, nil
	}
	if s.known >= s.maxStreams {
		return nil, chunkErrorf("more than %d chunk streams", s.maxStreams)
	}
	s.known++
	cs := &clientStream{id: id}
	if id <= maxTargetID {
		s.small[id] = cs
	} else {
		if s.large == nil {
			s.large = make(map[uint32]*clientStream)
		}
		s.large[id] = cs
	}
	return cs, nil
}

// bind gives cs a gortmplib chunk stream: its own ID when free, else a
// free one from 63 down, else the one least recently used by a client
// stream that is between messages.
func (s *chunkState) bind(cs *clientStream) (byte, error) {
	if cs.target != 0 {
		return cs.target, nil
	}
	id := -1
	if cs.id <= maxTargetID && s.targets[cs.id].owner == nil {
		id = int(cs.id)
	}
	for t := maxTargetID; id < 0 && t >= minTargetID; t-- {
		if s.targets[t].owner == nil {
			id = t
		}
	}
	if id < 0 {
		var victim *clientStream
		for t := minTargetID; t <= maxTargetID; t++ {
			o := s.targets[t].owner
			if o.h.recv == 0 && s.targets[t].h.recv == 0 && (victim == nil || o.lastUse < victim.lastUse) {
				victim = o
			}
		}
		if victim == nil {
			return 0, chunkErrorf("more than %d messages interleaved", maxTargetID-minTargetID+1)
		}
		id = int(victim.target)
		victim.target = 0
	}
	s.targets[id].owner = cs
	cs.target = byte(id)
	return cs.target, nil
}

// endChunk runs when the current chunk's payload is in.
func (s *chunkState) endChunk() error {
	cs := s.cur
	if cs.h.recv != cs.h.length {
		return nil
	}
	cs.h.recv = 0
	if s.curTgt != nil {
		s.curTgt.h.recv = 0
	}
	switch cs.h.typ {
	case msgTypeSetChunkSize:
		v := binary.BigEndian.Uint32(cs.ctl[:])
		if v == 0 || v > maxMessageSize {
			return chunkErrorf("chunk size %d outside 1-%d", v, maxMessageSize)
		}
		s.chunkSize = v
	case msgTypeAbort:
		return s.abort(binary.BigEndian.Uint32(cs.ctl[:]))
	}
	return nil
}

// abort drops the partial message of the client's chunk stream id, as
// gortmplib would (it also forgets the message length), and has gortmplib
// drop its copy.
func (s *chunkState) abort(id uint32) error {
	var cs *clientStream
	if id <= maxTargetID {
		cs = s.small[id]
	} else {
		cs = s.large[id]
	}
	if cs == nil || cs.h.recv == 0 {
		return nil
	}
	cs.h.recv, cs.h.length = 0, 0
	if cs.target == 0 {
		return nil
	}
	t := &s.targets[cs.target]
	if t.h.recv == 0 {
		return nil
	}
	// Carry the abort on a gortmplib stream between messages, free ones
	// first; an owner of the carrier gets a type 0 header next time.
	carrier := -1
	for i := maxTargetID; i >= minTargetID; i-- {
		ti := &s.targets[i]
		if ti.h.recv == 0 && (carrier < 0 || ti.owner == nil && s.targets[carrier].owner != nil) {
			carrier = i
		}
	}
	if carrier < 0 {
		return chunkErrorf("more than %d messages interleaved", maxTargetID-minTargetID+1)
	}
	c := &s.targets[carrier]
	c.h = chunkHeader{valid: true, length: 4, typ: msgTypeAbort}
	body := []byte{0, 0, 0, cs.target}
	out := c.h.appendType0(s.out, byte(carrier))
	for len(body) > 0 {
		k := min(uint32(len(body)), s.chunkSize)
		out = append(out, body[:k]...)
		body = body[k:]
		if len(body) > 0 {
			out = append(out, 3<<6|byte(carrier))
		}
	}
	s.out = out
	t.h.recv, t.h.length = 0, 0
	return nil
}
