package transcode

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Available reports whether an ffmpeg binary is on PATH. Without it the
// transcoders' Initialize returns an error wrapping ErrUnavailable.
func Available() bool {
	_, err := exec.LookPath("ffmpeg")
	return err == nil
}

// lookPath resolves the ffmpeg binary: path when set, else "ffmpeg" on PATH.
func lookPath(path string) (string, error) {
	name := path
	if name == "" {
		name = "ffmpeg"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w (%s): install ffmpeg (Debian: apt-get install ffmpeg) for WebRTC transcoding: %v",
			ErrUnavailable, name, err)
	}
	return p, nil
}

var encoders sync.Map // binary path -> *encoderList

type encoderList struct {
	once sync.Once
	text string
	err  error
}

// checkEncoder returns an error naming what is missing when the ffmpeg at
// path was built without the encoder (e.g. "libopus"). The list is read
// once per binary.
func checkEncoder(path, encoder string) error {
	v, _ := encoders.LoadOrStore(path, &encoderList{})
	l := v.(*encoderList)
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "-hide_banner", "-nostdin", "-encoders").Output()
		l.text, l.err = string(out), err
	})
	if l.err != nil {
		return fmt.Errorf("%w: %s -encoders failed: %v", ErrUnavailable, path, l.err)
	}
	for _, line := range strings.Split(l.text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == encoder {
			return nil
		}
	}
	return fmt.Errorf("%w: %s has no %s encoder (Debian's ffmpeg package has it)", ErrUnavailable, path, encoder)
}
