package conference

// Defaults used by Bootstrap when BootstrapOptions leaves a field empty.
const (
	DefaultEventSlug  = "meetup"
	DefaultEventTitle = "Meetup"
	DefaultTrackSlug  = "main"
	DefaultTrackTitle = "Main stage"
)

// BootstrapOptions describes the event and track created on an empty database.
// Empty fields take the Default* values. StreamKey and AdminToken, when set, are
// used instead of freshly generated secrets (an operator provisioning them from
// the environment).
type BootstrapOptions struct {
	EventSlug  string
	EventTitle string
	TrackSlug  string
	TrackTitle string
	StreamKey  string
	AdminToken string
}

// WithDefaults returns o with empty names replaced by the Default* values.
func (o BootstrapOptions) WithDefaults() BootstrapOptions {
	if o.EventSlug == "" {
		o.EventSlug = DefaultEventSlug
	}
	if o.EventTitle == "" {
		o.EventTitle = DefaultEventTitle
	}
	if o.TrackSlug == "" {
		o.TrackSlug = DefaultTrackSlug
	}
	if o.TrackTitle == "" {
		o.TrackTitle = DefaultTrackTitle
	}
	return o
}

// BootstrapResult reports what Bootstrap found or created. StreamKey and
// AdminToken hold plaintext secrets only when Created is true (the only time
// they can be shown); on later starts they are empty.
type BootstrapResult struct {
	Created    bool
	Event      Event
	Track      Track
	StreamKey  string
	AdminToken string
}
