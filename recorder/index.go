package recorder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// indexLine is one line of a publish's index.jsonl.
type indexLine struct {
	Kind string `json:"k"` // "publish", "init", "seg", "end"

	Track   string    `json:"track,omitempty"`
	ID      string    `json:"id,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Source  string    `json:"source,omitempty"`
	Epoch   string    `json:"epoch,omitempty"`
	// EventID is the event that owned the track when the publish began.
	EventID int64 `json:"event_id,omitempty"`

	MSN     int       `json:"msn,omitempty"`
	Init    int       `json:"init,omitempty"`
	File    string    `json:"file,omitempty"`
	Size    int64     `json:"size,omitempty"`
	StartUS int64     `json:"start_us,omitempty"`
	DurUS   int64     `json:"dur_us,omitempty"`
	PDT     time.Time `json:"pdt,omitzero"`
	Disc    bool      `json:"disc,omitempty"`

	At time.Time `json:"at,omitzero"`
}

const (
	lineKindPublish = "publish"
	lineKindInit    = "init"
	lineKindSeg     = "seg"
	lineKindEnd     = "end"
)

func initName(id int) string    { return fmt.Sprintf("init-%d.mp4", id) }
func segName(msn int) string    { return fmt.Sprintf("seg-%d.m4s", msn) }
func posterName(msn int) string { return fmt.Sprintf("poster-%d.jpg", msn) }

func segLine(s *Segment) indexLine {
	return indexLine{Kind: lineKindSeg, MSN: s.MSN, Init: s.Init, File: segName(s.MSN), Size: s.Size,
		StartUS: s.Start.Microseconds(), DurUS: s.Duration.Microseconds(), PDT: s.PDT.UTC(), Disc: s.Disc}
}

func (l *indexLine) segment() Segment {
	return Segment{MSN: l.MSN, Init: l.Init, Start: time.Duration(l.StartUS) * time.Microsecond,
		Duration: time.Duration(l.DurUS) * time.Microsecond, PDT: l.PDT, Disc: l.Disc, Size: l.Size}
}

// marshalLine returns l as one line, newline included.
func marshalLine(l indexLine) []byte {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // plain values only
	}
	return append(b, '\n')
}

// maxIndexLine bounds one line when reading an index back.
const maxIndexLine = 64 << 10

// readIndex parses an index. It returns the lines that parse, in order,
// the byte length they take, and whether anything after them was cut off
// (a partial or damaged tail).
func readIndex(rd io.Reader) (lines []indexLine, good int64, damaged bool, err error) {
	br := bufio.NewReaderSize(rd, 64<<10)
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull || (err == nil && len(b) > maxIndexLine) {
			return lines, good, true, nil
		}
		if err == io.EOF {
			return lines, good, len(b) > 0, nil
		}
		if err != nil {
			return lines, good, false, err
		}
		var l indexLine
		if jerr := json.Unmarshal(bytes.TrimSpace(b), &l); jerr != nil || l.Kind == "" {
			return lines, good, true, nil
		}
		lines = append(lines, l)
		good += int64(len(b))
	}
}
