package transcode

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// A child with ExtraOutputs writes to descriptors 3 and 4 besides stdout;
// ServeOutputs gets all three, and stdin reaches the child.
func TestSupervisorExtraOutputs(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	got := make(chan []string, 1)
	var once sync.Once
	s := &Supervisor{
		Path:         sh,
		Args:         []string{"-c", `read line; echo "out $line"; echo three >&3; echo four >&4`},
		ExtraOutputs: 2,
		ServeOutputs: func(in io.WriteCloser, outs []io.Reader) {
			in.Write([]byte("hello\n"))
			res := make([]string, len(outs))
			var wg sync.WaitGroup
			for i, r := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b, _ := io.ReadAll(r) // to EOF: the child exited
					res[i] = string(b)
				}()
			}
			wg.Wait()
			once.Do(func() { got <- res })
		},
		MinBackoff: time.Second,
		Name:       "test",
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var res []string
	select {
	case res = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no output")
	}
	want := []string{"out hello\n", "three\n", "four\n"}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("output %d: %q, want %q", i, res[i], want[i])
		}
	}
}

func TestSupervisorExtraOutputsNeedServeOutputs(t *testing.T) {
	s := &Supervisor{Path: "sh", ExtraOutputs: 1, Serve: drainServe}
	if err := s.Initialize(); err == nil {
		s.Close()
		t.Fatal("no error")
	}
}
