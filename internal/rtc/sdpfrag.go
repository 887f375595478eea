package rtc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// ErrBadFrag marks a trickle-ice-sdpfrag body that cannot be parsed.
var ErrBadFrag = errors.New("malformed trickle-ice-sdpfrag")

// ErrUnsupportedFrag marks a well-formed fragment kast does not act on:
// anything but candidates and an ICE restart.
var ErrUnsupportedFrag = errors.New("unsupported trickle-ice-sdpfrag")

// SDPFrag is a parsed application/trickle-ice-sdpfrag body (RFC 8840).
type SDPFrag struct {
	Ufrag, Pwd      string
	Candidates      []webrtc.ICECandidateInit
	EndOfCandidates bool
}

// ParseSDPFrag parses a fragment: ICE credentials, candidates grouped by
// media (a=mid), end-of-candidates. Other attributes are ignored; other
// line types are refused with ErrUnsupportedFrag.
func ParseSDPFrag(b []byte) (*SDPFrag, error) {
	if len(b) > MaxOfferSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadFrag, len(b), MaxOfferSize)
	}
	f := &SDPFrag{}
	var mid *string
	var mline uint16
	mlines := 0
	for i, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, fmt.Errorf("%w: line %d is not an SDP line", ErrBadFrag, i+1)
		}
		switch line[0] {
		case 'm':
			mlines++
			mline = uint16(mlines - 1)
			mid = nil
		case 'a':
			k, v, _ := strings.Cut(line[2:], ":")
			switch k {
			case "ice-ufrag":
				f.Ufrag = v
			case "ice-pwd":
				f.Pwd = v
			case "mid":
				m := v
				mid = &m
			case "candidate":
				c := webrtc.ICECandidateInit{Candidate: "candidate:" + v, SDPMid: mid}
				if mid == nil && mlines > 0 {
					idx := mline
					c.SDPMLineIndex = &idx
				}
				f.Candidates = append(f.Candidates, c)
			case "end-of-candidates":
				f.EndOfCandidates = true
			}
		case 'v', 'o', 's', 't', 'c', 'b':
			return nil, fmt.Errorf("%w: a %c= line: kast takes candidates and ICE restarts only", ErrUnsupportedFrag, line[0])
		default:
			return nil, fmt.Errorf("%w: line %d (%c=)", ErrBadFrag, i+1, line[0])
		}
	}
	if f.Pwd != "" && f.Ufrag == "" {
		return nil, fmt.Errorf("%w: ice-pwd without ice-ufrag", ErrBadFrag)
	}
	return f, nil
}

// IsRestart reports whether the fragment restarts ICE on pc: it carries
// credentials other than the current remote ones.
func (f *SDPFrag) IsRestart(pc *webrtc.PeerConnection) bool {
	if f.Ufrag == "" {
		return false
	}
	rd := pc.RemoteDescription()
	return rd == nil || !strings.Contains(rd.SDP, "a=ice-ufrag:"+f.Ufrag+"\r\n")
}

// AddCandidates adds the fragment's candidates to pc.
func (f *SDPFrag) AddCandidates(pc *webrtc.PeerConnection) error {
	for _, c := range f.Candidates {
		if c.SDPMid == nil && c.SDPMLineIndex == nil {
			zero := uint16(0)
			c.SDPMLineIndex = &zero // bundled: the first m-line's transport
		}
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%w: candidate %q: %v", ErrBadFrag, c.Candidate, err)
		}
	}
	return nil
}

// RestartICE applies an ICE restart asked for by the remote peer (the
// offerer): the remote description is renewed with the fragment's
// credentials, kast answers with fresh credentials of its own, and the
// returned fragment carries them with kast's candidates.
func RestartICE(pc *webrtc.PeerConnection, f *SDPFrag, gatherTimeout time.Duration) (string, error) {
	if f.Pwd == "" {
		return "", fmt.Errorf("%w: an ICE restart needs ice-pwd with the new ice-ufrag", ErrBadFrag)
	}
	rd := pc.RemoteDescription()
	if rd == nil || rd.Type != webrtc.SDPTypeOffer {
		return "", fmt.Errorf("%w: ICE restart of a session kast did not answer", ErrUnsupportedFrag)
	}
	var lines []string
	for _, l := range strings.SplitAfter(rd.SDP, "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + f.Ufrag + "\r\n"
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + f.Pwd + "\r\n"
		case strings.HasPrefix(l, "a=candidate:"), strings.HasPrefix(l, "a=end-of-candidates"):
			continue
		}
		lines = append(lines, l)
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: strings.Join(lines, "")}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return "", fmt.Errorf("%w: ICE restart: %v", ErrUnsupportedFrag, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	select {
	case <-g:
	case <-time.After(gatherTimeout):
	}
	if err := f.AddCandidates(pc); err != nil {
		return "", err
	}
	return LocalFrag(pc), nil
}

// LocalFrag returns pc's local ICE credentials and candidates as a
// trickle-ice-sdpfrag body.
func LocalFrag(pc *webrtc.PeerConnection) string {
	ld := pc.LocalDescription()
	if ld == nil {
		return ""
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, l := range strings.SplitAfter(ld.SDP, "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"), strings.HasPrefix(l, "a=ice-pwd:"), strings.HasPrefix(l, "a=candidate:"):
			if !seen[l] {
				seen[l] = true
				b.WriteString(l)
			}
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// ICEGeneration names pc's current ICE credentials, for ETags: it changes
// with every ICE restart.
func ICEGeneration(pc *webrtc.PeerConnection) string {
	ld := pc.LocalDescription()
	if ld == nil {
		return ""
	}
	i := strings.Index(ld.SDP, "a=ice-ufrag:")
	if i < 0 {
		return ""
	}
	rest := ld.SDP[i+len("a=ice-ufrag:"):]
	if j := strings.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
