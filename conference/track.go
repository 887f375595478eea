package conference

// Track is one live stream of an event (a room or stage). Its slug is unique
// across all events and names the stream in URLs (/watch/<slug>, /hls/<slug>/).
type Track struct {
	ID      int64
	EventID int64
	Slug    string
	Title   string
}
