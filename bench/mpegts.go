package main

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/kastlive/kast/internal/avclip"
)

// tsPESKeep is how much of each video PES the reader keeps: the bench SEI
// sits before the first slice, so the head of the PES is enough.
const tsPESKeep = 8 << 10

// tsReader reads an MPEG-TS stream (a classic HLS segment) as it arrives:
// PAT -> PMT -> the H.264 elementary stream (stream_type 0x1b); each video
// PES is scanned for a bench SEI and reported once the next PES starts or the
// body ends. Buffers and the PIDs found are kept across segments.
type tsReader struct {
	pkt      [188]byte
	pmtPID   int
	videoPID int
	pes      []byte
	inPES    bool
	scratch  []byte
}

// read consumes r to EOF.
func (t *tsReader) read(r *bufio.Reader, onFrame frameFunc) error {
	t.inPES = false
	t.pes = t.pes[:0]
	for {
		if _, err := io.ReadFull(r, t.pkt[:]); err != nil {
			if err == io.EOF {
				t.flush(onFrame)
				return nil
			}
			return err
		}
		if err := t.packet(onFrame); err != nil {
			return err
		}
	}
}

// packet handles the packet in t.pkt.
func (t *tsReader) packet(onFrame frameFunc) error {
	p := t.pkt[:]
	if p[0] != 0x47 {
		return fmt.Errorf("%w: lost MPEG-TS sync", errParse)
	}
	pusi := p[1]&0x40 != 0
	pid := int(p[1]&0x1f)<<8 | int(p[2])
	afc := p[3] >> 4 & 3
	off := 4
	if afc&2 != 0 {
		off += 1 + int(p[4])
	}
	if afc&1 == 0 || off >= len(p) {
		return nil
	}
	payload := p[off:]
	switch {
	case pid == 0:
		t.parsePAT(payload, pusi)
	case t.pmtPID != 0 && pid == t.pmtPID:
		t.parsePMT(payload, pusi)
	case t.videoPID != 0 && pid == t.videoPID:
		if pusi {
			t.flush(onFrame)
			// PES header: 00 00 01 id len(2) flags(2) hlen(1)
			if len(payload) < 9 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1 {
				return nil
			}
			h := 9 + int(payload[8])
			if h > len(payload) {
				return nil
			}
			t.inPES = true
			t.pes = append(t.pes[:0], payload[h:]...)
		} else if t.inPES && len(t.pes) < tsPESKeep {
			t.pes = append(t.pes, payload...)
		}
	}
	return nil
}

// section returns the PSI section in a packet payload, or nil.
func section(payload []byte, pusi bool) []byte {
	if !pusi || len(payload) < 1 {
		return nil
	}
	ptr := int(payload[0])
	if 1+ptr+3 > len(payload) {
		return nil
	}
	s := payload[1+ptr:]
	n := int(s[1]&0x0f)<<8 | int(s[2])
	if 3+n > len(s) || n < 9 {
		return nil
	}
	return s[:3+n-4] // without CRC
}

func (t *tsReader) parsePAT(payload []byte, pusi bool) {
	s := section(payload, pusi)
	if s == nil || s[0] != 0 {
		return
	}
	for e := s[8:]; len(e) >= 4; e = e[4:] {
		prog := int(e[0])<<8 | int(e[1])
		if prog != 0 {
			t.pmtPID = int(e[2]&0x1f)<<8 | int(e[3])
			return
		}
	}
}

func (t *tsReader) parsePMT(payload []byte, pusi bool) {
	s := section(payload, pusi)
	if s == nil || s[0] != 2 || len(s) < 12 {
		return
	}
	infoLen := int(s[10]&0x0f)<<8 | int(s[11])
	if 12+infoLen > len(s) {
		return
	}
	for e := s[12+infoLen:]; len(e) >= 5; {
		typ := e[0]
		pid := int(e[1]&0x1f)<<8 | int(e[2])
		esLen := int(e[3]&0x0f)<<8 | int(e[4])
		if typ == 0x1b {
			t.videoPID = pid
			return
		}
		if 5+esLen > len(e) {
			return
		}
		e = e[5+esLen:]
	}
}

// flush scans the PES gathered so far for a bench SEI.
func (t *tsReader) flush(onFrame frameFunc) {
	if !t.inPES {
		return
	}
	t.inPES = false
	var send int64
	found := false
	avclip.ForEachNALU(t.pes, func(nalu []byte) bool {
		send, found, t.scratch = parseSEI(nalu, t.scratch)
		return !found
	})
	if found {
		onFrame(send, time.Now())
	}
}
