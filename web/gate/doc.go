// Package gate guards the playback of events open only to registered
// attendees: every HLS request (playlists, parts, segments) and every WHEP
// offer for a track of a `registered` event must carry a viewer credential,
// a short-lived token signed with HMAC-SHA256 and tied to the viewer's login
// session.
//
// The check runs in memory on every request: the token is verified with a
// key loaded once at start, the track's event and access come from a
// Directory kept in memory and refreshed when the conference changes, and
// logouts reach a revocation set, so no request touches the database. A
// token is issued by the playback-token endpoint (Issuer), which is where
// the login session and the registration are looked up, once per token.
//
// A viewer presents the token as a cookie (kast_play, Path=/hls/<track>/,
// what browsers and Apple's players send by themselves), as
// `Authorization: Bearer` (WHEP players) or as the `token` query parameter
// (players that keep no cookies). A playlist fetched with the query
// parameter and no cookie is answered with every URI in it carrying the
// token too, so the parts and segments it names are authorised as well.
package gate
