package testutil

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ChunkMessage is one RTMP message for a ChunkWriter.
type ChunkMessage struct {
	ChunkStreamID uint32 // 2-65599
	Timestamp     uint32 // milliseconds
	Type          uint8
	StreamID      uint32 // message stream ID
	Body          []byte
}

// ChunkWriter writes RTMP messages as chunks (RTMP 1.0 section 5.3) with
// any chunk stream ID, so tests can send what gortmplib's writer cannot:
// 2-byte basic headers (IDs 64-319), 3-byte ones (320-65599, or 64-319
// with Wide), header compression of every type, extended timestamps and
// interleaved messages. It writes the message stream ID big-endian, as
// gortmplib reads it.
type ChunkWriter struct {
	// ChunkSize is the size chunks are cut to; 128 (RTMP's default) when 0.
	// Change it with SetChunkSize, which also tells the peer.
	ChunkSize uint32
	// Wide writes IDs 64-319 with the 3-byte basic header.
	Wide bool
	// Pick chooses the chunk type of a message's first chunk among those
	// allowed (allowed[0] is always true); nil picks the most compact.
	Pick func(allowed [4]bool) int

	streams map[uint32]*chunkWriterStream
}

type chunkWriterStream struct {
	valid  bool
	ts     uint32
	delta  uint32
	length uint32
	typ    uint8
	msid   uint32
	ext    bool // type 3 chunks carry the extended timestamp
}

// Chunks returns m cut into chunks, each one slice, and advances the
// header state: write them in order (other streams' chunks may go
// between them, but no Set Chunk Size).
func (w *ChunkWriter) Chunks(m ChunkMessage) ([][]byte, error) {
	if m.ChunkStreamID < 2 || m.ChunkStreamID > 65599 {
		return nil, fmt.Errorf("chunk stream ID %d outside 2-65599", m.ChunkStreamID)
	}
	if len(m.Body) >= 1<<24 {
		return nil, fmt.Errorf("message of %d bytes", len(m.Body))
	}
	if w.streams == nil {
		w.streams = make(map[uint32]*chunkWriterStream)
	}
	size := w.ChunkSize
	if size == 0 {
		size = 128
	}
	st := w.streams[m.ChunkStreamID]
	if st == nil {
		st = &chunkWriterStream{}
		w.streams[m.ChunkStreamID] = st
	}
	length := uint32(len(m.Body))

	// Which chunk types can describe this message, given what the peer
	// keeps for the stream (after a type 0 chunk the delta is 0).
	var allowed [4]bool
	allowed[0] = true
	delta := m.Timestamp - st.ts
	if st.valid && m.StreamID == st.msid && m.Timestamp >= st.ts {
		allowed[1] = true
		if length == st.length && m.Type == st.typ {
			allowed[2] = true
			allowed[3] = delta == st.delta
		}
	}
	typ := 0
	if w.Pick != nil {
		typ = w.Pick(allowed)
		if typ < 0 || typ > 3 || !allowed[typ] {
			return nil, fmt.Errorf("chunk type %d not allowed", typ)
		}
	} else {
		for t := 3; t > 0; t-- {
			if allowed[t] {
				typ = t
				break
			}
		}
	}

	var first []byte
	first = w.basicHeader(first, byte(typ), m.ChunkStreamID)
	field := func(v uint32) uint32 { return min(v, 0xFFFFFF) }
	switch typ {
	case 0:
		f := field(m.Timestamp)
		first = append(first, byte(f>>16), byte(f>>8), byte(f), byte(length>>16), byte(length>>8), byte(length), m.Type)
		first = binary.BigEndian.AppendUint32(first, m.StreamID)
		if m.Timestamp >= 0xFFFFFF {
			first = binary.BigEndian.AppendUint32(first, m.Timestamp)
		}
		*st = chunkWriterStream{valid: true, ts: m.Timestamp, length: length, typ: m.Type, msid: m.StreamID, ext: m.Timestamp >= 0xFFFFFF}
	case 1, 2:
		f := field(delta)
		first = append(first, byte(f>>16), byte(f>>8), byte(f))
		if typ == 1 {
			first = append(first, byte(length>>16), byte(length>>8), byte(length), m.Type)
		}
		if delta >= 0xFFFFFF {
			first = binary.BigEndian.AppendUint32(first, delta)
		}
		st.ts, st.delta, st.length, st.typ, st.ext = m.Timestamp, delta, length, m.Type, delta >= 0xFFFFFF
	case 3:
		if st.ext {
			first = binary.BigEndian.AppendUint32(first, m.Timestamp)
		}
		st.ts = m.Timestamp
	}

	n := min(length, size)
	chunks := [][]byte{append(first, m.Body[:n]...)}
	for body := m.Body[n:]; len(body) > 0; {
		c := w.basicHeader(nil, 3, m.ChunkStreamID)
		if st.ext {
			c = binary.BigEndian.AppendUint32(c, m.Timestamp)
		}
		k := min(uint32(len(body)), size)
		chunks = append(chunks, append(c, body[:k]...))
		body = body[k:]
	}
	return chunks, nil
}

// Write writes m to out, chunk after chunk.
func (w *ChunkWriter) Write(out io.Writer, m ChunkMessage) error {
	chunks, err := w.Chunks(m)
	if err != nil {
		return err
	}
	var b []byte
	for _, c := range chunks {
		b = append(b, c...)
	}
	_, err = out.Write(b)
	return err
}

// SetChunkSize tells the peer the new chunk size on chunk stream 2 and
// cuts the following messages to it.
func (w *ChunkWriter) SetChunkSize(out io.Writer, size uint32) error {
	if err := w.Write(out, ChunkMessage{ChunkStreamID: 2, Type: 1, Body: binary.BigEndian.AppendUint32(nil, size)}); err != nil {
		return err
	}
	w.ChunkSize = size
	return nil
}

// Aborted records that the peer dropped the partial message of chunk
// stream id (an Abort Message sent for it): gortmplib then forgets the
// message length too, so the next message needs a type 0 or 1 header.
func (w *ChunkWriter) Aborted(id uint32) {
	if st := w.streams[id]; st != nil {
		st.length = 0
	}
}

func (w *ChunkWriter) basicHeader(b []byte, typ byte, id uint32) []byte {
	switch {
	case id < 64:
		return append(b, typ<<6|byte(id))
	case id < 320 && !w.Wide:
		return append(b, typ<<6, byte(id-64))
	default:
		return append(b, typ<<6|1, byte(id-64), byte((id-64)>>8))
	}
}
