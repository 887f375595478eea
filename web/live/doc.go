// Package live is the live channel: a websocket per viewer
// (GET /api/v1/events/{event}/live) over which kast pushes the event's
// on-air changes, as they happen, and its per-track viewer counts, every
// few seconds when they change. The message types are in docs/api.md.
//
// A Hub fans each message out to every connection of the event: marshalled
// once (an on-air change in a few variants, one per suggested switch
// delay), prepared once as a websocket frame, queued to each connection
// without waiting. A connection whose queue is full or whose writes stall
// is dropped; it reconnects and catches up. Connections are bounded in
// number, per source address (IPv6 by /64) and in connection rate; what a
// client sends is bounded in size and rate; browsers from other origins
// are refused unless configured.
package live
