// Package conference is kast's domain: events, their tracks (rooms, each one
// live stream), the timetable, accounts and registrations, and the rules
// that hold between them. It declares the storage interfaces it needs;
// store/sqlite implements them (and a PostgreSQL store can, with the same
// tests). It imports no HTTP and no SQL driver.
//
// Secrets (stream keys, admin tokens) are random values shown in plaintext
// once, when they are created; a store keeps only their SHA-256 hashes and
// looks them up by hash.
package conference
