package rtmp

// Stats are a Server's connection counters.
type Stats struct {
	// Unauthenticated and Publishing are connections open now: before the
	// stream key was accepted, and after.
	Unauthenticated int
	Publishing      int
	// Accepted counts every TCP connection taken from the listener.
	Accepted uint64
	// Dropped counts connections closed by kast before they published,
	// by reason (the Drop* constants); every reason is present.
	Dropped map[string]uint64
	// Refused counts connections told no when they asked to publish or
	// play, by reason (the Refuse* constants); every reason is present.
	Refused map[string]uint64
}

// Add returns the sum of s and o (RTMP and RTMPS listeners together).
func (s Stats) Add(o Stats) Stats {
	r := Stats{
		Unauthenticated: s.Unauthenticated + o.Unauthenticated,
		Publishing:      s.Publishing + o.Publishing,
		Accepted:        s.Accepted + o.Accepted,
		Dropped:         make(map[string]uint64, len(dropReasons)),
		Refused:         make(map[string]uint64, len(refuseReasons)),
	}
	for _, k := range dropReasons {
		r.Dropped[k] = s.Dropped[k] + o.Dropped[k]
	}
	for _, k := range refuseReasons {
		r.Refused[k] = s.Refused[k] + o.Refused[k]
	}
	return r
}
