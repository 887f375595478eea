package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// daysFlag is a duration flag that also takes days: "30d", "72h", "0".
type daysFlag struct{ d *time.Duration }

func (f daysFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	if *f.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*f.d/(24*time.Hour)), 10) + "d"
	}
	return f.d.String()
}

func (f daysFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("want a number of days like 30d")
		}
		*f.d = time.Duration(v * float64(24*time.Hour))
		return nil
	}
	if s == "0" {
		*f.d = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want days (30d) or a duration (72h)")
	}
	*f.d = d
	return nil
}

// bytesFlag is a size flag: "200G", "500M", "1.5T", "1048576", "0".
type bytesFlag struct{ n *int64 }

func (f bytesFlag) String() string {
	if f.n == nil || *f.n == 0 {
		return "0"
	}
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if *f.n%u.size == 0 {
			return strconv.FormatInt(*f.n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*f.n, 10)
}

func (f bytesFlag) Set(s string) error {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i"))
	mult := 1.0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("want a size like 200G or 500M")
	}
	*f.n = int64(v * mult)
	return nil
}
