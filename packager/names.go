package packager

import (
	"strconv"
	"strings"
)

// File names under /hls/<track>/. The epoch changes whenever a track's
// muxer is recreated, so a name never refers to two different contents and
// parts, segments and init segments can be cached as immutable.
const (
	multivariantName = "index.m3u8"
	mediaName        = "media.m3u8"
)

func appendInitName(b []byte, epoch string, id int) []byte {
	b = append(b, "init-"...)
	b = append(b, epoch...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, ".mp4"...)
}

func appendPartName(b []byte, epoch string, n int64) []byte {
	b = append(b, "part-"...)
	b = append(b, epoch...)
	b = append(b, '-')
	b = strconv.AppendInt(b, n, 10)
	return append(b, ".m4s"...)
}

func appendSegmentName(b []byte, epoch string, msn int) []byte {
	b = append(b, "seg-"...)
	b = append(b, epoch...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(msn), 10)
	return append(b, ".m4s"...)
}

// fileKind is what a request under /hls/<track>/ asks for.
type fileKind int

const (
	fileUnknown fileKind = iota
	fileMultivariant
	fileMedia
	fileInit
	filePart
	fileSegment
)

// parseName splits a file name into its kind, epoch and number.
func parseName(name string) (kind fileKind, epoch string, n int64) {
	switch name {
	case multivariantName:
		return fileMultivariant, "", 0
	case mediaName:
		return fileMedia, "", 0
	}
	var prefix, ext string
	switch {
	case strings.HasPrefix(name, "init-"):
		kind, prefix, ext = fileInit, "init-", ".mp4"
	case strings.HasPrefix(name, "part-"):
		kind, prefix, ext = filePart, "part-", ".m4s"
	case strings.HasPrefix(name, "seg-"):
		kind, prefix, ext = fileSegment, "seg-", ".m4s"
	default:
		return fileUnknown, "", 0
	}
	rest, ok := strings.CutSuffix(name[len(prefix):], ext)
	if !ok {
		return fileUnknown, "", 0
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return fileUnknown, "", 0
	}
	v, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || v < 0 {
		return fileUnknown, "", 0
	}
	return kind, rest[:i], v
}
