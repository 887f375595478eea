package conference

import "errors"

// ErrNotFound is returned when a looked-up event, track or secret does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, such as a
// track slug already used by another track.
var ErrConflict = errors.New("conflict")
