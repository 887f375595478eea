package conference

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestChatRateLimitRefills(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := &Chat{MessageLimit: Limit{Burst: 2, Every: 10 * time.Second}, Now: func() time.Time { return now }}
	for i := range 2 {
		if err := c.take('m', 1); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
	}
	var rl *RateLimitedError
	if err := c.take('m', 1); !errors.As(err, &rl) || rl.Wait != 10*time.Second {
		t.Fatalf("third: %v", err)
	}
	if err := c.take('m', 2); err != nil {
		t.Fatalf("another account is limited too: %v", err)
	}
	if err := c.take('q', 1); err != nil {
		t.Fatalf("questions share the chat's bucket: %v", err)
	}
	now = now.Add(5 * time.Second)
	if err := c.take('m', 1); !errors.As(err, &rl) || rl.Wait != 5*time.Second {
		t.Fatalf("half refilled: %v", err)
	}
	now = now.Add(5 * time.Second)
	if err := c.take('m', 1); err != nil {
		t.Fatalf("refilled: %v", err)
	}
}

func TestChatBodies(t *testing.T) {
	if b, err := CheckChatBody("  hi <b>  "); err != nil || b != "hi <b>" {
		t.Fatalf("%q %v", b, err)
	}
	for _, s := range []string{"", "  ", "a\nb", "\x00", strings.Repeat("é", MaxChatLen+1), string([]byte{0xff})} {
		if _, err := CheckChatBody(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if _, err := CheckQuestionBody(strings.Repeat("q", MaxQuestionLen)); err != nil {
		t.Error(err)
	}
	if _, err := CheckQuestionBody(strings.Repeat("q", MaxQuestionLen+1)); err == nil {
		t.Error("long question accepted")
	}
}
