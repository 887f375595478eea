package pages

import (
	"bytes"
	"fmt"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QRSVG returns text as a QR code in SVG: one path of unit squares with a
// four-module quiet zone, black on white whatever the page's colours, so
// scanners read it in dark mode too.
func QRSVG(text string) ([]byte, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var sw svgWriter
	if err := q.Save(&sw); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return sw.buf.Bytes(), nil
}

// svgWriter is a qrcode.Writer drawing the matrix as SVG.
type svgWriter struct{ buf bytes.Buffer }

const quiet = 4

func (s *svgWriter) Write(m qrcode.Matrix) error {
	w, h := m.Width(), m.Height()
	fmt.Fprintf(&s.buf, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img">`, w+2*quiet, h+2*quiet)
	fmt.Fprintf(&s.buf, `<rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`)
	m.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		if v.IsSet() {
			fmt.Fprintf(&s.buf, "M%d %dh1v1h-1z", x+quiet, y+quiet)
		}
	})
	s.buf.WriteString(`"/></svg>`)
	return nil
}

func (s *svgWriter) Close() error { return nil }
