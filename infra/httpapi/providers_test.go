package httpapi_test

import (
	"encoding/json"
	"net/http"
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
