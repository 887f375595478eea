// Package netlimit is what kast's HTTP limits share: token buckets, a
// bounded set of them by key, the address ranges a client is limited by
// (an IPv4 address, an IPv6 /64, and an IPv6 /48 site), and the client
// address of a request behind trusted proxies. The JSON API's login and
// registration limits and the live channel's per-source limits use it.
package netlimit
