package relay

// H.264 NAL unit types the packetizer looks at.
const (
	naluIDR    = 5
	naluSPS    = 7
	naluPPS    = 8
	naluAUD    = 9
	naluFiller = 12
	naluSTAPA  = 24
	naluFUA    = 28
)

// maxPayload is the largest RTP payload kast sends: with the 12-byte RTP
// header and SRTP's tag the datagram stays under pion's 1200-byte MTU and
// any path's.
const maxPayload = 1160

// packetizeH264 turns one access unit into RTP payloads (RFC 6184,
// packetization mode 1): NAL units small enough are aggregated into
// STAP-A packets, larger ones split into FU-A fragments. On a keyframe
// without in-band parameter sets, sps and pps go first, so they travel
// in the same STAP-A as the start of the IDR's access unit. Access unit
// delimiters and filler data are left out. All payloads share one
// allocation.
func packetizeH264(nalus [][]byte, key bool, sps, pps []byte, mtu int) [][]byte {
	list := make([][]byte, 0, len(nalus)+2)
	if key && len(sps) > 0 && len(pps) > 0 && !hasParamSets(nalus) {
		list = append(list, sps, pps)
	}
	size := 0
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluAUD, naluFiller:
			continue
		}
		list = append(list, n)
	}
	for _, n := range list {
		size += len(n) + 2*(len(n)/(mtu-2)+1) + 3
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, 0, len(list))

	for i := 0; i < len(list); {
		n := list[i]
		if len(n) > mtu {
			// FU-A
			indicator := n[0]&0xe0 | naluFUA
			typ := n[0] & 0x1f
			data := n[1:]
			first := true
			for len(data) > 0 {
				chunk := min(len(data), mtu-2)
				hdr := typ
				if first {
					hdr |= 0x80
				}
				if chunk == len(data) {
					hdr |= 0x40
				}
				start := len(buf)
				buf = append(buf, indicator, hdr)
				buf = append(buf, data[:chunk]...)
				out = append(out, buf[start:len(buf):len(buf)])
				data = data[chunk:]
				first = false
			}
			i++
			continue
		}
		// Aggregate the following small NAL units while they fit.
		j, total := i+1, 1+2+len(n)
		var nri byte = n[0] & 0x60
		for j < len(list) && len(list[j]) <= mtu && total+2+len(list[j]) <= mtu {
			total += 2 + len(list[j])
			nri = max(nri, list[j][0]&0x60)
			j++
		}
		start := len(buf)
		if j == i+1 {
			buf = append(buf, n...)
		} else {
			buf = append(buf, nri|naluSTAPA)
			for _, m := range list[i:j] {
				buf = append(buf, byte(len(m)>>8), byte(len(m)))
				buf = append(buf, m...)
			}
		}
		out = append(out, buf[start:len(buf):len(buf)])
		i = j
	}
	return out
}

func hasParamSets(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) > 0 && n[0]&0x1f == naluSPS {
			return true
		}
	}
	return false
}

// packetizeVP8 splits a VP8 frame into RTP payloads (RFC 7741) with the
// one-byte payload descriptor: S set on the first, partition 0.
func packetizeVP8(frame []byte, mtu int) [][]byte {
	n := (len(frame) + mtu - 2) / (mtu - 1)
	buf := make([]byte, 0, len(frame)+n)
	out := make([][]byte, 0, n)
	for first := true; len(frame) > 0; first = false {
		chunk := min(len(frame), mtu-1)
		start := len(buf)
		var d byte
		if first {
			d = 0x10
		}
		buf = append(buf, d)
		buf = append(buf, frame[:chunk]...)
		out = append(out, buf[start:len(buf):len(buf)])
		frame = frame[chunk:]
	}
	return out
}
