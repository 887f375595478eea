package rtmp

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/kastlive/kast/ingest"
)

// errUnpublished reports that the publisher said it is done (deleteStream
// or closeStream): a clean end, not a failure. FCUnpublish comes just
// before deleteStream and is not the end yet.
var errUnpublished = errors.New("publisher unpublished")

// rtmpTimestampRange is where RTMP's 32-bit millisecond timestamps wrap.
const rtmpTimestampRange = time.Duration(1<<32) * time.Millisecond

// flvDemuxer turns RTMP media messages (FLV tags, legacy and Enhanced RTMP)
// into access units. It reads the codec parameters from the sequence
// headers, so a stream starts with its first frame instead of after a
// probing period, and it announces new parameters when the publisher sends
// different sequence headers mid-stream.
type flvDemuxer struct {
	// onMedia is called before the first unit and whenever the parameters
	// change; the units that follow belong to the new media.
	onMedia func(ingest.Media)
	onUnit  func(*ingest.Unit)

	video     *ingest.Video // from the latest sequence header
	audio     *ingest.Audio
	announced ingest.Media
	started   bool

	lastTS     time.Duration
	wrapOffset time.Duration
	lastWrap   time.Duration // the range of the last wrap: 2^31 or 2^32 ms

	// DroppedBeforeConfig counts frames that came before their sequence header.
	DroppedBeforeConfig int
}

// push handles one message from the publisher, received at now.
func (d *flvDemuxer) push(msg message.Message, now time.Time) error {
	switch m := msg.(type) {
	case *message.Video:
		if m.Codec != message.CodecH264 {
			return fmt.Errorf("unsupported video codec %s: kast takes H.264", videoCodecName(m.Codec))
		}
		switch m.Type {
		case message.VideoTypeConfig:
			if m.AVCConfig == nil {
				return nil
			}
			return d.setVideoConfig(m.AVCConfig.SequenceParameterSets[0].NALUnit, m.AVCConfig.PictureParameterSets[0].NALUnit)
		case message.VideoTypeAU:
			return d.videoAU(m.DTS, m.PTSDelta, m.AU, now)
		}
		return nil

	case *message.VideoExSequenceStart:
		if m.FourCC != message.FourCCAVC {
			return fmt.Errorf("unsupported video codec %s: kast takes H.264", fourCCName(m.FourCC))
		}
		return d.setVideoConfig(m.AVCConfig.SequenceParameterSets[0].NALUnit, m.AVCConfig.PictureParameterSets[0].NALUnit)

	case *message.VideoExCodedFrames:
		if m.FourCC != message.FourCCAVC {
			return fmt.Errorf("unsupported video codec %s: kast takes H.264", fourCCName(m.FourCC))
		}
		return d.videoAU(m.DTS, m.PTSDelta, m.Payload, now)

	case *message.VideoExFramesX:
		if m.FourCC != message.FourCCAVC {
			return fmt.Errorf("unsupported video codec %s: kast takes H.264", fourCCName(m.FourCC))
		}
		return d.videoAU(m.DTS, 0, m.Payload, now)

	case *message.VideoExMultitrack:
		if m.TrackID != 0 {
			return nil // kast takes the first track of a multitrack publish
		}
		return d.push(m.Wrapped, now)

	case *message.Audio:
		if m.Codec != message.CodecMPEG4Audio {
			return fmt.Errorf("unsupported audio codec %s: kast takes AAC", audioCodecName(m.Codec))
		}
		if m.AACType == message.AudioAACTypeConfig {
			if m.AACConfig == nil {
				return nil
			}
			return d.setAudioConfig(m.AACConfig)
		}
		return d.audioFrame(m.DTS, m.AU, now)

	case *message.AudioExSequenceStart:
		if m.FourCC != message.FourCCMP4A || m.AACConfig == nil {
			return fmt.Errorf("unsupported audio codec %s: kast takes AAC", fourCCName(m.FourCC))
		}
		return d.setAudioConfig(m.AACConfig)

	case *message.AudioExCodedFrames:
		if m.FourCC != message.FourCCMP4A {
			return fmt.Errorf("unsupported audio codec %s: kast takes AAC", fourCCName(m.FourCC))
		}
		return d.audioFrame(m.DTS, m.Payload, now)

	case *message.AudioExMultitrack:
		if m.TrackID != 0 {
			return nil
		}
		return d.push(m.Wrapped, now)

	case *message.CommandAMF0:
		switch m.Name {
		case "deleteStream", "closeStream":
			return errUnpublished
		}
	}
	return nil
}

func (d *flvDemuxer) setVideoConfig(sps, pps []byte) error {
	v, err := ingest.NewH264(sps, pps)
	if err != nil {
		return err
	}
	d.video = v
	return nil
}

func (d *flvDemuxer) setAudioConfig(c *mpeg4audio.AudioSpecificConfig) error {
	if c.SampleRate <= 0 {
		return fmt.Errorf("invalid AAC configuration: sample rate %d", c.SampleRate)
	}
	a, err := ingest.NewAAC(c)
	if err != nil {
		return err
	}
	d.audio = a
	return nil
}

// unwrap extends RTMP's 32-bit millisecond timestamps past 49.7 days.
// ffmpeg writes them as signed 31-bit numbers (its FLV muxer masks the
// top bit), so from ffmpeg they wrap at 2^31 ms, 24.8 days in or at once
// with a large -output_ts_offset: a step back of more than a quarter of
// the range is a wrap, of 2^31 or 2^32 ms whichever is nearer, and a step
// forward as large right after one is a frame from before it (audio and
// video do not cross the wrap at the same moment).
func (d *flvDemuxer) unwrap(ts time.Duration) time.Duration {
	ts += d.wrapOffset
	switch step := ts - d.lastTS; {
	case step < -rtmpTimestampRange/4:
		w := rtmpTimestampRange
		if step > -rtmpTimestampRange*3/4 {
			w = rtmpTimestampRange / 2
		}
		d.wrapOffset += w
		d.lastWrap = w
		ts += w
	case step > rtmpTimestampRange/4 && d.lastWrap != 0:
		ts -= d.lastWrap
	}
	d.lastTS = ts
	return ts
}

func (d *flvDemuxer) videoAU(dts, ptsDelta time.Duration, payload []byte, now time.Time) error {
	if d.video == nil {
		d.DroppedBeforeConfig++
		return nil
	}
	var au h264.AVCC
	if err := au.Unmarshal(payload); err != nil {
		if errors.Is(err, h264.ErrAVCCNoNALUs) {
			return nil
		}
		return fmt.Errorf("invalid H.264 frame: %w", err)
	}
	d.announce()
	dts = d.unwrap(dts)
	d.onUnit(&ingest.Unit{
		Kind:     ingest.KindVideo,
		DTS:      dts,
		PTS:      dts + ptsDelta,
		Received: now,
		Key:      h264.IsRandomAccess(au),
		NALUs:    au,
	})
	return nil
}

func (d *flvDemuxer) audioFrame(dts time.Duration, frame []byte, now time.Time) error {
	if d.audio == nil {
		d.DroppedBeforeConfig++
		return nil
	}
	if len(frame) == 0 {
		return nil
	}
	d.announce()
	dts = d.unwrap(dts)
	d.onUnit(&ingest.Unit{
		Kind:     ingest.KindAudio,
		DTS:      dts,
		PTS:      dts,
		Received: now,
		Key:      true,
		Frame:    frame,
	})
	return nil
}

// announce reports the current parameters if they differ from the ones
// last announced.
func (d *flvDemuxer) announce() {
	cur := ingest.Media{Video: d.video, Audio: d.audio}
	if d.started && cur.Equal(d.announced) {
		return
	}
	d.started = true
	d.announced = cur
	d.onMedia(cur)
}

func videoCodecName(id uint8) string {
	switch id {
	case 2:
		return "Sorenson H.263"
	case 4, 5:
		return "VP6"
	case message.CodecH264:
		return "H.264"
	case message.CodecH265:
		return "H.265"
	}
	return fmt.Sprintf("id %d", id)
}

func audioCodecName(id uint8) string {
	switch id {
	case message.CodecMPEG1Audio:
		return "MP3"
	case message.CodecLPCM, 0:
		return "PCM"
	case message.CodecPCMA:
		return "G.711 A-law"
	case message.CodecPCMU:
		return "G.711 µ-law"
	case 11:
		return "Speex"
	case 4, 5, 6:
		return "Nellymoser"
	}
	return fmt.Sprintf("id %d", id)
}

func fourCCName(f message.FourCC) string {
	return string([]byte{byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)})
}
