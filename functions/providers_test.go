package functions_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// TestProvidersThroughFunctions runs the identity providers' routes
// through the admin function, and the sign-in page's list through the
// login function, on both stores.
func TestProvidersThroughFunctions(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		spr := s.login()
		admin := func(name string, status int) reply {
			t.Helper()
			r := s.invoke("admin", signedIn(loadEvent(t, name), spr))
			want(t, name+".json", r, status, "")
			if strings.Contains(r.Body, "clientSecret") {
				t.Fatalf("%s.json answers a secret: %s", name, r.Body)
			}
			return r
		}
		if r := admin("create-provider", http.StatusCreated); r.body["id"] != "ent" || r.body["version"] != 1.0 {
			t.Fatalf("create-provider.json: %v", r.body)
		}
		if r := admin("providers", http.StatusOK); len(r.body["items"].([]any)) != 1 {
			t.Fatalf("providers.json: %v", r.body)
		}
		if r := admin("update-provider", http.StatusOK); r.body["displayName"] != "Mon ENT" || r.body["singleLogout"] != true {
			t.Fatalf("update-provider.json: %v", r.body)
		}
		admin("provider", http.StatusOK)
		r := s.invoke("login", loadEvent(t, "login-providers"))
		want(t, "login-providers.json", r, http.StatusOK, "")
		if items := r.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["displayName"] != "Mon ENT" {
			t.Fatalf("login-providers.json: %v", r.body)
		}
		admin("delete-provider", http.StatusNoContent)
		if _, err := s.st.GetProvider(t.Context(), sesame.ProviderKey{UAI: uai, ID: "ent"}); err == nil {
			t.Fatal("delete-provider.json left the provider")
		}
	})
}
