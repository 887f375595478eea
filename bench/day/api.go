package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clientFrom returns an HTTP client whose connections come from the
// loopback address src (127.x.y.z), so per-address limits see many
// clients, as on the day.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// api calls kast's JSON API.
type api struct {
	s     *server
	admin *http.Client
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil). It returns the status.
func (a *api) call(c *http.Client, method, path string, in, out any, hdr map[string]string) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.s.url(path), body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode, nil
}

func (a *api) adminCall(method, path string, in, out any) error {
	_, err := a.call(a.admin, method, path, in, out, map[string]string{"Authorization": "Bearer " + a.s.token})
	return err
}

// talk is the part of the API's talk the day reads.
type talk struct {
	ID        int    `json:"id"`
	Title     string `json:"title"`
	Track     string `json:"track"`
	Recording *struct {
		Playlist string  `json:"playlist"`
		MP4      string  `json:"mp4"`
		Duration float64 `json:"duration_s"`
		Live     bool    `json:"live"`
	} `json:"recording"`
}

// conference is the event the day runs: two tracks, talks through the day.
type conference struct {
	event  string
	tracks []string
	keys   map[string]string
	talks  map[string][]talk // by track, in order
}

// setUp creates the event, its tracks and talks.
func (a *api) setUp(talksPerTrack int) (*conference, error) {
	c := &conference{event: "dayconf", keys: map[string]string{}, talks: map[string][]talk{}}
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	if err := a.adminCall("POST", "/api/v1/events", map[string]any{
		"slug": c.event, "name": "The Day", "timezone": "UTC",
		"start": day.Format(time.RFC3339), "end": day.Add(48 * time.Hour).Format(time.RFC3339),
		"offline_capacity": 40,
	}, nil); err != nil {
		return nil, err
	}
	for i, slug := range []string{"hall-a", "hall-b"} {
		var tr struct {
			Key string `json:"stream_key"`
		}
		if err := a.adminCall("POST", "/api/v1/events/"+c.event+"/tracks", map[string]any{"slug": slug, "name": strings.ToUpper(slug), "order": i}, &tr); err != nil {
			return nil, err
		}
		c.tracks = append(c.tracks, slug)
		c.keys[slug] = tr.Key
		for j := 0; j < talksPerTrack; j++ {
			start := now.Add(time.Duration(j) * 2 * time.Minute)
			var t talk
			if err := a.adminCall("POST", "/api/v1/events/"+c.event+"/talks", map[string]any{
				"track": slug, "title": fmt.Sprintf("%s talk %d", slug, j+1),
				"speakers": []map[string]string{{"name": fmt.Sprintf("Speaker %d", j+1)}},
				"start":    start.Format(time.RFC3339), "end": start.Add(2 * time.Minute).Format(time.RFC3339),
			}, &t); err != nil {
				return nil, err
			}
			c.talks[slug] = append(c.talks[slug], t)
		}
	}
	return c, nil
}

// onAir puts a talk on air.
func (a *api) onAir(track string, id int) error {
	return a.adminCall("PUT", "/api/v1/tracks/"+track+"/on-air", map[string]any{"talk_id": id}, nil)
}

// attendee is one registered account and its login.
type attendee struct {
	email, password string
	client          *http.Client
	cookie          string
}

// accounts registers n attendees, spread over source addresses.
type accounts struct {
	mu       sync.Mutex
	list     []*attendee
	failures []string
	limited  int // 429s (retried)
}

func (ac *accounts) fail(format string, args ...any) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if len(ac.failures) < 20 {
		ac.failures = append(ac.failures, fmt.Sprintf(format, args...))
	} else {
		ac.failures[19] = fmt.Sprintf("... %d more", len(ac.failures))
	}
}

// sessionCookie returns the kast_session cookie a response set.
func sessionCookie(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == "kast_session" {
			return c.Value
		}
	}
	return ""
}

// post sends an attendee request and returns the status and the session
// cookie set (if any). It waits out 429s like a patient browser.
func (a *api) post(at *attendee, path string, in any, ac *accounts) (int, string, error) {
	for try := 0; ; try++ {
		b, _ := json.Marshal(in)
		req, _ := http.NewRequest("POST", a.s.url(path), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := at.client.Do(req)
		if err != nil {
			return 0, "", err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests && try < 10 {
			ac.mu.Lock()
			ac.limited++
			ac.mu.Unlock()
			time.Sleep(3 * time.Second)
			continue
		}
		return res.StatusCode, sessionCookie(res), nil
	}
}

// register registers attendee i of the event.
func (a *api) register(c *conference, i int, ac *accounts) {
	src := fmt.Sprintf("127.0.1.%d", 1+i/10) // 10 per address: inside the burst of 20
	at := &attendee{email: fmt.Sprintf("attendee%03d@day.example", i), password: "a long password " + randomToken()[:8], client: clientFrom(src)}
	part := "online"
	if i%4 == 0 {
		part = "offline"
	}
	status, cookie, err := a.post(at, "/api/v1/events/"+c.event+"/registrations", map[string]any{
		"name": fmt.Sprintf("Attendee %d", i), "email": at.email, "password": at.password,
		"participation": part, "consent_terms": true,
	}, ac)
	switch {
	case err != nil:
		ac.fail("register %d: %v", i, err)
		return
	case status == http.StatusConflict && part == "offline":
		// The venue is full: register online, as the answer offers.
		status, cookie, err = a.post(at, "/api/v1/events/"+c.event+"/registrations", map[string]any{
			"name": fmt.Sprintf("Attendee %d", i), "email": at.email, "password": at.password,
			"participation": "online", "consent_terms": true,
		}, ac)
		if err != nil || status != http.StatusCreated {
			ac.fail("register %d online after a full venue: %d %v", i, status, err)
			return
		}
	case status != http.StatusCreated:
		ac.fail("register %d: status %d", i, status)
		return
	}
	at.cookie = cookie
	ac.mu.Lock()
	ac.list = append(ac.list, at)
	ac.mu.Unlock()
}

// login logs the attendee in again (a second device); the new cookie is
// the one checked after restarts.
func (a *api) login(at *attendee, ac *accounts) bool {
	status, cookie, err := a.post(at, "/api/v1/session", map[string]any{"email": at.email, "password": at.password}, ac)
	if err != nil || status != http.StatusOK || cookie == "" {
		ac.fail("login %s: %d %v", at.email, status, err)
		return false
	}
	at.cookie = cookie
	return true
}

// me reports whether the attendee's cookie still logs it in.
func (a *api) me(at *attendee) bool {
	req, _ := http.NewRequest("GET", a.s.url("/api/v1/me"), nil)
	req.AddCookie(&http.Cookie{Name: "kast_session", Value: at.cookie})
	res, err := at.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// checkSessions counts the attendees whose cookie still works.
func (a *api) checkSessions(list []*attendee) (ok int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	for _, at := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if a.me(at) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok
}

// registrations counts the event's registrations (organizer view).
func (a *api) registrations(event string) (int, error) {
	var list []json.RawMessage
	if err := a.adminCall("GET", "/api/v1/events/"+event+"/registrations", nil, &list); err != nil {
		// The answer may be an object with a list.
		var obj map[string]json.RawMessage
		if err2 := a.adminCall("GET", "/api/v1/events/"+event+"/registrations", nil, &obj); err2 != nil {
			return 0, err
		}
		for _, v := range obj {
			if json.Unmarshal(v, &list) == nil {
				return len(list), nil
			}
		}
		return 0, err
	}
	return len(list), nil
}

// talks returns the event's talks.
func (a *api) talks(event string) ([]talk, error) {
	var list []talk
	err := a.adminCall("GET", "/api/v1/events/"+event+"/talks", nil, &list)
	return list, err
}
