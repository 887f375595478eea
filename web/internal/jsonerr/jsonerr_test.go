package jsonerr

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, c := range []struct{ msg, field, want string }{
		{"no such event", "", `{"error":"no such event"}` + "\n"},
		{`bad "quote" <x>`, "speakers[0].name", `{"error":"bad \"quote\" \u003cx\u003e","field":"speakers[0].name"}` + "\n"},
		{"ctl \x01 and \xff", "", `{"error":"ctl \u0001 and \ufffd"}` + "\n"},
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Retry-After", "5")
		Write(rec, 429, c.msg, c.field)
		if rec.Code != 429 || rec.Body.String() != c.want || rec.Header().Get("Content-Type") != "application/json" ||
			rec.Header().Get("Retry-After") != "5" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%q: %d %v %q", c.msg, rec.Code, rec.Header(), rec.Body)
		}
		var v struct{ Error, Field string }
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Field != c.field || (v.Error != c.msg && c.msg[0] != 'c') {
			t.Errorf("%q: %+v %v", c.msg, v, err)
		}
	}
}
