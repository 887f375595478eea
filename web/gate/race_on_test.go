//go:build race

package gate

// raceEnabled: the race detector makes sync.Pool drop entries, so the
// allocation tests do not hold under it.
const raceEnabled = true
