package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// TestProviders: the SPR declares the school's identity providers; the
// client secret goes in and never comes out; accounts get their ENT
// identifier; the sign-in page lists the providers.
func TestProviders(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		w.user("prof", "teacher", "", "")
		spr := w.spr()
		const secret = "le-secret-du-client"
		oidc := map[string]any{"id": "ent", "protocol": "oidc", "displayName": "Mon ENT", "issuer": "https://ent.example.fr/oidc",
			"clientId": "sesame", "clientSecret": secret, "claim": "sub", "kinds": []string{"teacher"}}
		created := spr.do("POST", "/providers", oidc, nil)
		wantStatus(t, "create", created, http.StatusCreated, "")
		if created.body["hasSecret"] != true || created.body["version"] != float64(1) || created.body["metadataUrl"] != nil {
			t.Fatalf("created: %v", created.body)
		}
		wantStatus(t, "create twice", spr.do("POST", "/providers", oidc, nil), http.StatusConflict, "already_exists")
		// What the ENT's administrator registers Sésame with: this site's
		// addresses for the protocol, named in French.
		site := w.srv.URL + "/api/v1/login/sso/"
		registered := func(what string, body map[string]any) []string {
			t.Helper()
			var got []string
			for _, x := range body["registration"].([]any) {
				m := x.(map[string]any)
				if m["label"] == "" {
					t.Fatalf("%s: an address without a name: %v", what, m)
				}
				got = append(got, m["value"].(string))
			}
			return got
		}
		if got := registered("OpenID Connect", created.body); !slices.Equal(got, []string{site + "callback", w.srv.URL + "/?raison=logged_out"}) {
			t.Fatalf("OpenID Connect registration: %v", got)
		}
		for _, p := range []struct {
			body map[string]any
			want []string
		}{
			{map[string]any{"id": "educonnect", "protocol": "saml", "displayName": "ÉduConnect", "metadataUrl": "https://educonnect.example.fr/idp/metadata",
				"claim": "FrEduCtId", "kinds": []string{"student"}}, []string{site + "saml", site + "acs", site + "logout"}},
			{map[string]any{"id": "cas", "protocol": "cas", "displayName": "ENT (CAS)", "casUrl": "https://ent.example.fr/cas",
				"claim": "sub", "kinds": []string{"teacher"}}, []string{site + "callback", w.srv.URL + "/?raison=logged_out"}},
		} {
			a := spr.do("POST", "/providers", p.body, nil)
			wantStatus(t, "create "+p.body["id"].(string), a, http.StatusCreated, "")
			if got := registered(p.body["protocol"].(string), a.body); !slices.Equal(got, p.want) {
				t.Fatalf("%s registration: %v, want %v", p.body["protocol"], got, p.want)
			}
			wantStatus(t, "delete "+p.body["id"].(string), spr.do("DELETE", "/providers/"+p.body["id"].(string)+"?version=1", nil, nil), http.StatusNoContent, "")
		}
		bad := spr.do("POST", "/providers", map[string]any{"id": "x", "protocol": "cas", "displayName": "X", "casUrl": "ftp://x", "claim": "uid", "kinds": []string{"teacher"}}, nil)
		wantStatus(t, "a bad address", bad, http.StatusBadRequest, "invalid_value")
		if bad.errField("field") != "casUrl" || !strings.Contains(bad.errField("message").(string), "https://") {
			t.Fatalf("a bad address: %v", bad.body)
		}

		edit := map[string]any{"protocol": "oidc", "displayName": "ENT du collège", "issuer": "https://ent.example.fr/oidc",
			"clientId": "sesame", "claim": "uid", "kinds": []string{"teacher", "student"}, "singleLogout": true, "version": 1}
		put := spr.do("PUT", "/providers/ent", edit, nil)
		wantStatus(t, "update without the secret", put, http.StatusOK, "")
		if put.body["hasSecret"] != true || put.body["version"] != float64(2) || put.body["singleLogout"] != true {
			t.Fatalf("updated: %v", put.body)
		}
		wantStatus(t, "stale update", spr.do("PUT", "/providers/ent", edit, nil), http.StatusConflict, "conflict")
		edit["id"] = "autre"
		wantStatus(t, "renaming", spr.do("PUT", "/providers/ent", edit, nil), http.StatusBadRequest, "bad_request")

		for _, path := range []string{"/providers", "/providers/ent", "/login/providers?school=0751234A"} {
			a := spr.do("GET", path, nil, nil)
			wantStatus(t, path, a, http.StatusOK, "")
			raw, _ := json.Marshal(a.body)
			if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "clientSecret") {
				t.Fatalf("%s shows the secret: %s", path, raw)
			}
		}
		choices := w.browser().do("GET", "/login/providers?school=0751234A", nil, nil)
		items, _ := choices.body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["displayName"] != "ENT du collège" {
			t.Fatalf("sign-in choices: %v", choices.body)
		}
		wantStatus(t, "choices without a school", w.browser().do("GET", "/login/providers", nil, nil), http.StatusBadRequest, "invalid_value")

		// The ENT identifier of an account.
		linked := spr.do("PATCH", "/users/prof", map[string]any{"entId": "P-0001"}, nil)
		wantStatus(t, "link", linked, http.StatusOK, "")
		if got := spr.do("GET", "/users/prof", nil, nil).body["entId"]; got != "P-0001" {
			t.Fatalf("entId = %v", got)
		}
		w.user("prof2", "teacher", "", "")
		wantStatus(t, "the same ENT identifier twice", spr.do("PATCH", "/users/prof2", map[string]any{"entId": "P-0001"}, nil), http.StatusConflict, "already_exists")
		if got := spr.do("PATCH", "/users/prof", map[string]any{"entId": ""}, nil).body["entId"]; got != nil {
			t.Fatalf("unlinked entId = %v", got)
		}

		wantStatus(t, "delete stale", spr.do("DELETE", "/providers/ent?version=1", nil, nil), http.StatusConflict, "conflict")
		wantStatus(t, "delete", spr.do("DELETE", "/providers/ent?version=2", nil, nil), http.StatusNoContent, "")
		wantStatus(t, "deleted", spr.do("GET", "/providers/ent", nil, nil), http.StatusNotFound, "not_found")
	})
}
