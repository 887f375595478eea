package transcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func flvTagBytes(typ byte, data []byte) []byte {
	b := []byte{typ, byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data)), 0, 0, 0, 0, 0, 0, 0}
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, uint32(len(data)+11))
}

var flvHeader = []byte{'F', 'L', 'V', 1, 1, 0, 0, 0, 9, 0, 0, 0, 0}

func TestFLVReader(t *testing.T) {
	cfg := []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 3}
	stream := append(bytes.Clone(flvHeader), flvTagBytes(18, []byte("meta"))...)
	stream = append(stream, flvTagBytes(9, append([]byte{0x17, 0, 0, 0, 0}, cfg...))...)
	stream = append(stream, flvTagBytes(9, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65})...)
	r := &flvReader{r: bytes.NewReader(stream)}
	var tags []flvTag
	for {
		tag, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
	if len(tags) != 3 || tags[0].Type != 18 || tags[1].Type != 9 || tags[2].Data[1] != 1 {
		t.Fatalf("tags %+v", tags)
	}
	sps, pps, err := parseAVCConfig(tags[1].Data[5:])
	if err != nil || !bytes.Equal(sps, []byte{0x67, 1, 2}) || !bytes.Equal(pps, []byte{0x68, 3}) {
		t.Fatalf("config: %x %x %v", sps, pps, err)
	}

	for name, bad := range map[string][]byte{
		"not FLV":        []byte("MP4xxxxxxxxxxxxxxxxx"),
		"header size":    {'F', 'L', 'V', 1, 1, 0, 0, 0, 5, 0, 0, 0, 0},
		"previous size":  append(bytes.Clone(flvHeader), 9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0, 0, 0, 1),
		"too large":      append(bytes.Clone(flvHeader), 9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0),
		"truncated data": append(bytes.Clone(flvHeader), 9, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 2),
	} {
		if _, err := (&flvReader{r: bytes.NewReader(bad)}).next(); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, bad := range map[string][]byte{
		"short":       {1, 2},
		"version":     {2, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 1, 0x67, 1, 0, 1, 0x68},
		"length size": {1, 0x64, 0, 0x1f, 0xfd, 0xe1, 0, 1, 0x67, 1, 0, 1, 0x68},
		"no PPS":      {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 1, 0x67},
		"zero SPS":    {1, 0x64, 0, 0x1f, 0xff, 0xe0, 1, 0, 1, 0x68},
		"cut SPS":     {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 9, 0x67},
	} {
		if _, _, err := parseAVCConfig(bad); err == nil {
			t.Errorf("parseAVCConfig %s: no error", name)
		}
	}
}

func FuzzFLVReader(f *testing.F) {
	f.Add(append(bytes.Clone(flvHeader), flvTagBytes(9, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65})...))
	f.Add(append(bytes.Clone(flvHeader), flvTagBytes(9, []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 1, 0x67, 1, 0, 1, 0x68})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &flvReader{r: bytes.NewReader(b)}
		for range 100 {
			tag, err := r.next()
			if err != nil {
				return
			}
			if len(tag.Data) > maxFLVTag {
				t.Fatalf("tag of %d bytes", len(tag.Data))
			}
			if tag.Type == 9 && len(tag.Data) > 5 && tag.Data[1] == 0 {
				parseAVCConfig(tag.Data[5:])
			}
		}
	})
}
