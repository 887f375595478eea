package fastpath

import (
	"os"
	"testing"
	"time"
)

func TestInteropExplore(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	os.WriteFile("/tmp/h2rig.addr", []byte(rg.addr+" "+rg.cert.CertFile), 0o644)
	time.Sleep(90 * time.Second)
}
