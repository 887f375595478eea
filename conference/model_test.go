package conference

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventValidate(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	ok := Event{Slug: "democon", Title: "DemoCon", TimeZone: "Europe/Berlin", Access: AccessPublic, Status: StatusScheduled,
		Start: time.Date(2027, 3, 13, 0, 0, 0, 0, loc), End: time.Date(2027, 3, 15, 0, 0, 0, 0, loc)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Event){
		"slug":             func(e *Event) { e.Slug = "Demo" },
		"name":             func(e *Event) { e.Title = strings.Repeat("x", MaxNameLen+1) },
		"timezone":         func(e *Event) { e.TimeZone = "Local" },
		"access":           func(e *Event) { e.Access = "vip" },
		"status":           func(e *Event) { e.Status = "cancelled" },
		"offline_capacity": func(e *Event) { e.OfflineCapacity = -5 },
		"end":              func(e *Event) { e.End = e.Start },
		"start":            func(e *Event) { e.Start = time.Time{} },
	}
	for field, mutate := range cases {
		e := ok
		mutate(&e)
		var fe *FieldError
		if err := e.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	for _, s := range []string{"a", "saal-1", "a1-b2"} {
		if !ValidSlug(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "1a", "-a", "a-", "a--b", "A", "a_b", strings.Repeat("a", 64)} {
		if ValidSlug(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Saal 1": "saal-1", "Großer Saal": "grosser-saal", "  Hall   A / B ": "hall-a-b", "1A": "room-1a",
		"Café Ümlaut": "cafe-umlaut", "!!!": "room", strings.Repeat("ab ", 40): strings.TrimRight(strings.Repeat("ab-", 21), "-"),
	} {
		got := Slugify(in)
		if got != want || !ValidSlug(got) {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h, err := HashPassword(ctx, "correct horse", DefaultPasswordParams)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q, %v", h, err)
	}
	if ok, err := VerifyPassword(ctx, "correct horse", h); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(ctx, "correct horsf", h); ok {
		t.Fatal("wrong password verified")
	}
	h2, _ := HashPassword(ctx, "correct horse", DefaultPasswordParams)
	if h2 == h {
		t.Fatal("same salt twice")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$" + strings.Repeat("A", 43)} {
		if _, err := VerifyPassword(ctx, "x", bad); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestTicketCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewTicketCode()
		if len(c) != 23 || seen[c] || strings.ContainsAny(c, "01IO") || NormalizeTicket(strings.ToLower(strings.ReplaceAll(c, "-", " "))) != c {
			t.Fatalf("ticket %q", c)
		}
		seen[c] = true
	}
}

func TestEmail(t *testing.T) {
	if NormalizeEmail("  Ada@Example.ORG ") != "ada@example.org" {
		t.Fatal("normalize")
	}
	for _, bad := range []string{"", "ada", "ada@localhost", "Ada <ada@example.org>", "a b@example.org"} {
		if CheckEmail(NormalizeEmail(bad)) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNextBoundaryAndScheduled(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2027, 1, 1, 10, m, 0, 0, time.UTC) }
	talks := []Talk{{ID: 1, Start: at(0), End: at(30)}, {ID: 2, Kind: KindBreak, Start: at(30), End: at(40)}, {ID: 3, Start: at(40), End: at(59)}}
	if b := NextBoundary(talks, at(10)); !b.Equal(at(30)) {
		t.Fatalf("next boundary %v", b)
	}
	if b := NextBoundary(talks, at(59)); !b.IsZero() {
		t.Fatalf("after the last talk: %v", b)
	}
	if s := Scheduled(talks, at(35)); s != nil {
		t.Fatalf("a break on air: %+v", s)
	}
	if s := Scheduled(talks, at(40)); s == nil || s.ID != 3 {
		t.Fatalf("at 10:40: %+v", s)
	}
}

// TestTimetableDefaultsBeforeValidating: a talk without a kind (kast's
// JSON leaves it out, its default) validates and imports as a talk.
func TestTimetableDefaultsBeforeValidating(t *testing.T) {
	ev := Event{Slug: "x", Title: "X", TimeZone: "UTC"}
	at := time.Date(2027, 3, 13, 18, 0, 0, 0, time.UTC)
	tt := Timetable{Rooms: []Room{{Key: "A", Name: "A"}},
		Talks: []TimetableTalk{{Room: "A", Talk: Talk{GUID: "g", Title: "No kind", Start: at, End: at.Add(time.Hour)}}}}
	if err := tt.Validate(ev); err != nil {
		t.Fatalf("a talk without kind: %v", err)
	}
	plan, err := PlanImport(ev, nil, nil, tt, func(string) bool { return false })
	if err != nil || len(plan.AddTalks) != 1 || plan.AddTalks[0].Kind != KindTalk {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	tt.Talks[0].Kind = "workshop"
	if err := tt.Validate(ev); err == nil {
		t.Fatal("an unknown kind validates")
	}
}
