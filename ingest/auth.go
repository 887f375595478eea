package ingest

import (
	"context"
	"errors"
)

// Authorizer maps a stream key to the track it publishes. It returns an
// error (ErrUnknownKey for a wrong key) when the key is not accepted. Every
// publisher protocol (RTMP, WHIP) asks the same one.
type Authorizer func(ctx context.Context, streamKey string) (track string, err error)

// ErrUnknownKey is what an Authorizer returns for a key it does not know.
var ErrUnknownKey = errors.New("unknown stream key")
