package idp

import (
	"net/http"
	"testing"
)

func TestHostCookiesDropsTheDotOfAnIPDomain(t *testing.T) {
	h := http.Header{}
	h.Add("Set-Cookie", "lemonldap=abc; domain=.127.0.0.1; path=/; HttpOnly=1; SameSite=Lax")
	h.Add("Set-Cookie", "lemonldappdata=%7B%7D; Domain=127.0.0.1; path=/")
	h.Add("Set-Cookie", "other=1; domain=.ent.example; path=/")
	hostCookies(h, "127.0.0.1:8180")
	want := []string{"lemonldap=abc; path=/; HttpOnly=1; SameSite=Lax", "lemonldappdata=%7B%7D; path=/", "other=1; domain=.ent.example; path=/"}
	got := h.Values("Set-Cookie")
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Set-Cookie %d = %q, want %q", i, got[i], want[i])
		}
	}
	// The portal's cookie is then kept by a client as a host cookie.
	res := &http.Response{Header: h}
	if c := res.Cookies(); len(c) != 3 || c[0].Name != "lemonldap" || c[0].Domain != "" {
		t.Errorf("cookies = %v", c)
	}

	named := http.Header{"Set-Cookie": {"lemonldap=abc; domain=.ent.example"}}
	hostCookies(named, "ent.example")
	if got := named.Get("Set-Cookie"); got != "lemonldap=abc; domain=.ent.example" {
		t.Errorf("a host name's cookie domain changed: %q", got)
	}
}
