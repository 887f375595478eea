// Package web is kast's HTTP surface: it routes the HLS packager, the pages,
// /metrics and /healthz, and owns the conference domain and its store.
package web
