package gate

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func testSigner(t testing.TB) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_800_000_000, 0)
	c := Claims{EventID: 42, Session: RefOf("session-1"), Expires: now.Add(time.Minute)}
	tok := s.Issue(c)
	if len(tok) != TokenLen {
		t.Fatalf("token length %d, want %d", len(tok), TokenLen)
	}
	got, err := s.Verify(tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.Verify(tok, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	other, _ := NewSigner(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Verify(tok, now); !errors.Is(err, ErrMalformed) {
		t.Fatalf("other key: %v, want ErrMalformed", err)
	}
}

func TestTokenTamperedIsRefused(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_800_000_000, 0)
	tok := s.Issue(Claims{EventID: 1, Session: RefOf("s"), Expires: now.Add(time.Hour)})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for _, bit := range []byte{1, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			if _, err := s.Verify(base64.RawURLEncoding.EncodeToString(b), now); !errors.Is(err, ErrMalformed) {
				t.Fatalf("byte %d bit %#x flipped: %v, want ErrMalformed", i, bit, err)
			}
		}
	}
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", tok[:10] + "!" + tok[11:], tok[:len(tok)-1] + "B"} {
		if _, err := s.Verify(bad, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner(make([]byte, 31)); err == nil {
		t.Fatal("31-byte key accepted")
	}
}

func TestVerifyAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops entries under the race detector")
	}
	s := testSigner(t)
	now := time.Now()
	tok := s.Issue(Claims{EventID: 1, Expires: now.Add(time.Hour)})
	s.Verify(tok, now) // fill the pool
	if n := testing.AllocsPerRun(100, func() { s.Verify(tok, now) }); n != 0 {
		t.Fatalf("Verify allocates %v times", n)
	}
}

// FuzzDecode64 holds decode64 to encoding/base64's strict RawURLEncoding.
func FuzzDecode64(f *testing.F) {
	f.Add("AAAA")
	f.Add(testSigner(f).Issue(Claims{EventID: 3}))
	f.Add("A-_z")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := base64.RawURLEncoding.Strict().DecodeString(s)
		got := make([]byte, len(s)*6/8)
		ok := decode64(got, s)
		if strings.ContainsAny(s, "\r\n") {
			// encoding/base64 skips newlines; a token has none.
			if ok {
				t.Fatalf("decode64(%q) accepted a newline", s)
			}
			return
		}
		if (err == nil) != ok {
			t.Fatalf("decode64(%q) = %v, base64: %v", s, ok, err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("decode64(%q) = %x, want %x", s, got, want)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := testSigner(b)
	now := time.Now()
	tok := s.Issue(Claims{EventID: 1, Expires: now.Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
