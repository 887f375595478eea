// Package deps pins the modules kast depends on until each is imported by real code.
package deps

import (
	_ "github.com/bluenviron/gohlslib/v2"
	_ "github.com/bluenviron/gohlslib/v2/pkg/playlist"
	_ "github.com/bluenviron/gortmplib"
	_ "github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	_ "github.com/gorilla/websocket"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/crypto/argon2"
	_ "modernc.org/sqlite"
)
