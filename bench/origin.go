package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// originCounter reads a Prometheus counter of the origin (summed over its
// labels), e.g. kast's kast_hls_requests_total, to tell how many requests
// reached it while viewers watched through a cache in front of it.
type originCounter struct {
	url  string // the origin's /metrics
	name string // the counter
}

// read returns the counter's total now.
func (o originCounter) read(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", o.url, res.Status)
	}
	var total float64
	found := false
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, o.name) {
			continue
		}
		rest := line[len(o.name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // another metric whose name starts the same
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		total += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("%s: no %s in it", o.url, o.name)
	}
	return total, sc.Err()
}

// originRate measures the counter's rate from from until ctx ends.
func (o originCounter) rate(ctx context.Context, from time.Time) (float64, error) {
	select {
	case <-ctx.Done():
		return 0, fmt.Errorf("run shorter than the ramp: no steady state to measure the origin in")
	case <-time.After(time.Until(from)):
	}
	bg := context.WithoutCancel(ctx)
	v0, err := o.read(bg)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	<-ctx.Done()
	v1, err := o.read(bg)
	if err != nil {
		return 0, err
	}
	return (v1 - v0) / time.Since(t0).Seconds(), nil
}
