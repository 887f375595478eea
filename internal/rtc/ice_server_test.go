package rtc

import "testing"

func TestParseICEServers(t *testing.T) {
	for _, tc := range []struct {
		in, link string
		err      bool
	}{
		{in: "stun:stun.example.org:3478", link: `<stun:stun.example.org:3478>; rel="ice-server"`},
		{in: "turn:al:s3cr\"t@turn.example.org:3478?transport=udp",
			link: `<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="al"; credential="s3cr\"t"; credential-type="password"`},
		{in: "turns:u:p@turn.example.org:5349?transport=tcp",
			link: `<turns:turn.example.org:5349?transport=tcp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`},
		{in: "turn:turn.example.org", err: true},     // no credentials
		{in: "stun:u:p@stun.example.org", err: true}, // credentials on STUN
		{in: "http://example.org", err: true},        // not ICE
		{in: "stun", err: true},                      // no scheme
		{in: "turn::p@turn.example.org", err: true},  // empty user
	} {
		got, err := ParseICEServers(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error, got %+v", tc.in, got)
			}
			continue
		}
		if err != nil || len(got) != 1 {
			t.Errorf("%q: %v %+v", tc.in, err, got)
			continue
		}
		if l := got[0].LinkHeader(); l != tc.link {
			t.Errorf("%q: link\n %s\nwant\n %s", tc.in, l, tc.link)
		}
	}
	list, err := ParseICEServers(" stun:a.example:3478 , stun:b.example:3478,")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
}
