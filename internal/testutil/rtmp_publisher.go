package testutil

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// HandPublisher is a small RTMP publisher written for tests: handshake
// (gortmplib's), then connect, createStream and publish, then media, all
// written by a ChunkWriter, so it can use chunk stream IDs and basic
// header sizes that OBS and ffmpeg never send.
type HandPublisher struct {
	// Chunk stream IDs of commands, audio and video (default 3, 4, 6).
	CommandID, AudioID, VideoID uint32
	// Wide writes IDs 64-319 with 3-byte basic headers.
	Wide bool
	// ChunkSize, when set, is announced after connect and used.
	ChunkSize uint32
	// LocalAddr is the address to connect from (any when nil).
	LocalAddr net.Addr
	// Timeout bounds each step (default 5 s).
	Timeout time.Duration

	nc       net.Conn
	w        *ChunkWriter
	r        *message.Reader
	streamID uint32
}

// Publish connects to rawURL (rtmp://host:port/app/key) and publishes. It
// returns once the server answered NetStream.Publish.Start, or with the
// code and description of the server's refusal.
func (p *HandPublisher) Publish(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	path := strings.TrimPrefix(u.Path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return fmt.Errorf("no app in %q", rawURL)
	}
	app, key := path[:i], path[i+1:]
	if err := p.Dial(u.Host); err != nil {
		return err
	}
	return p.PublishAs(app, "rtmp://"+u.Host+"/"+app, key)
}

// Dial connects to host:port and does the handshake.
func (p *HandPublisher) Dial(host string) error {
	if p.CommandID == 0 {
		p.CommandID, p.AudioID, p.VideoID = 3, 4, 6
	}
	if p.Timeout == 0 {
		p.Timeout = 5 * time.Second
	}
	d := net.Dialer{LocalAddr: p.LocalAddr, Timeout: p.Timeout}
	var err error
	p.nc, err = d.Dial("tcp", host)
	if err != nil {
		return err
	}
	p.nc.SetDeadline(time.Now().Add(p.Timeout))
	if _, _, err := handshake.DoClient(p.nc, false, false); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	bc := bytecounter.NewReader(p.nc)
	p.r = message.NewReader(bc, bc, func(uint32) error { return nil })
	p.w = &ChunkWriter{Wide: p.Wide}
	return nil
}

// PublishAs sends connect (with app and tcURL as given, however odd),
// createStream and publish (with key), after Dial.
func (p *HandPublisher) PublishAs(app, tcURL, key string) error {
	if err := p.Send(0, "connect", 1, amf0.Object{
		{Key: "app", Value: app},
		{Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: "FMLE/3.0 (compatible; kast test)"},
		{Key: "tcUrl", Value: tcURL},
	}); err != nil {
		return err
	}
	if _, err := p.result(1); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if p.ChunkSize != 0 {
		if err := p.w.SetChunkSize(p.nc, p.ChunkSize); err != nil {
			return err
		}
	}
	if err := p.Send(0, "createStream", 2, nil); err != nil {
		return err
	}
	res, err := p.result(2)
	if err != nil {
		return fmt.Errorf("createStream: %w", err)
	}
	if len(res.Arguments) < 2 {
		return fmt.Errorf("createStream answered %v", res.Arguments)
	}
	id, ok := res.Arguments[1].(float64)
	if !ok {
		return fmt.Errorf("createStream answered %v", res.Arguments)
	}
	p.streamID = uint32(id)
	if err := p.Send(p.streamID, "publish", 3, nil, key, "live"); err != nil {
		return err
	}
	for {
		msg, err := p.r.Read()
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok || cmd.Name != "onStatus" || len(cmd.Arguments) < 2 {
			continue
		}
		info, _ := cmd.Arguments[1].(amf0.Object)
		code, _ := info.GetString("code")
		if code == "NetStream.Publish.Start" {
			p.nc.SetDeadline(time.Time{})
			return nil
		}
		desc, _ := info.GetString("description")
		return fmt.Errorf("%s: %s", code, desc)
	}
}

// Send sends a command message, after Dial.
func (p *HandPublisher) Send(streamID uint32, name string, transaction float64, args ...any) error {
	body, err := amf0.Data(append([]any{name, transaction}, args...)).Marshal()
	if err != nil {
		return err
	}
	return p.w.Write(p.nc, ChunkMessage{ChunkStreamID: p.CommandID, Type: 20, StreamID: streamID, Body: body})
}

// Wait waits for the server to close the connection, at most d.
func (p *HandPublisher) Wait(d time.Duration) error {
	p.nc.SetReadDeadline(time.Now().Add(d))
	for {
		if _, err := p.r.Read(); err != nil {
			return err
		}
	}
}

// result waits for the _result (or _error) of a transaction.
func (p *HandPublisher) result(transaction int) (*message.CommandAMF0, error) {
	for {
		msg, err := p.r.Read()
		if err != nil {
			return nil, err
		}
		cmd, ok := msg.(*message.CommandAMF0)
		if !ok || cmd.CommandID != transaction {
			continue
		}
		if cmd.Name == "_error" {
			return nil, fmt.Errorf("server answered _error: %v", cmd.Arguments)
		}
		if cmd.Name == "_result" {
			return cmd, nil
		}
	}
}

// WriteVideo sends an FLV video tag body at ts milliseconds.
func (p *HandPublisher) WriteVideo(ts uint32, body []byte) error {
	return p.write(p.VideoID, 9, ts, body)
}

// WriteAudio sends an FLV audio tag body at ts milliseconds.
func (p *HandPublisher) WriteAudio(ts uint32, body []byte) error {
	return p.write(p.AudioID, 8, ts, body)
}

func (p *HandPublisher) write(id uint32, typ uint8, ts uint32, body []byte) error {
	p.nc.SetWriteDeadline(time.Now().Add(p.Timeout))
	return p.w.Write(p.nc, ChunkMessage{ChunkStreamID: id, Timestamp: ts, Type: typ, StreamID: p.streamID, Body: body})
}

// Close closes the connection.
func (p *HandPublisher) Close() error {
	if p.nc == nil {
		return nil
	}
	return p.nc.Close()
}
