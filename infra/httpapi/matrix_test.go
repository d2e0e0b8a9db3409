package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// The roles of the matrix: who signs in, in which mode.
const (
	roleAnonymous   = "anonyme"
	roleSPR         = "spr"
	roleModif       = "admin-modif"
	roleConsult     = "admin-consult"
	roleVieScolaire = "vie-scolaire"
	roleTeacher     = "professeur"
	roleParent      = "parent"
	roleStudent     = "eleve"
	roleOtherSPR    = "spr-autre-etablissement"
)

var allRoles = []string{roleAnonymous, roleSPR, roleModif, roleConsult, roleVieScolaire, roleTeacher, roleParent, roleStudent, roleOtherSPR}

// Who each route lets in, explicitly; the test proves every other role is
// refused. "signed-in" is every role but the anonymous one, "anyone" every
// role; the other school's SPR counts as an SPR, on its own base only.
var (
	anyone      = allRoles
	anySession  = allRoles[1:]
	sprOnly     = []string{roleSPR, roleOtherSPR}
	resources   = []string{roleSPR, roleOtherSPR, roleModif} // ressources.creer-modifier-ressources
	staffGrants = []string{roleSPR, roleOtherSPR, roleModif} // action 7 on staff profiles
	readers     = []string{roleSPR, roleOtherSPR, roleModif} // groups and profiles are read by who manages them
	allowedBy   = map[string][]string{
		"POST /login":                  anyone,
		"GET /permissions":             anyone,
		"GET /openapi.json":            anyone,
		"GET /session":                 anySession,
		"POST /heartbeat":              anySession,
		"POST /logout":                 anyone, // with no session, a no-op
		"GET /authorize":               anySession,
		"GET /connections":             sprOnly,
		"DELETE /connections/{id}":     sprOnly,
		"POST /uploads":                sprOnly,
		"PUT /uploads/{id}":            sprOnly,
		"POST /recoveries":             sprOnly,
		"POST /recoveries/{id}/apply":  sprOnly,
		"GET /next-year":               sprOnly,
		"GET /users":                   resources,
		"POST /users":                  resources,
		"GET /users/{login}":           resources,
		"PATCH /users/{login}":         resources,
		"POST /users/{login}/password": resources,
		"GET /groups":                  readers,
		"POST /groups":                 sprOnly,
		"GET /groups/{id}":             readers,
		"PATCH /groups/{id}":           sprOnly,
		"DELETE /groups/{id}":          sprOnly,
		"GET /profiles":                readers,
		"POST /profiles":               sprOnly,
		"GET /profiles/{id}":           readers,
		"PATCH /profiles/{id}":         staffGrants,
		"DELETE /profiles/{id}":        sprOnly,
		"GET /spaces":                  readers,
		"GET /spaces/{id}":             readers,
		"PATCH /spaces/{id}":           sprOnly,
		"GET /journal":                 sprOnly,
		"GET /journal.csv":             sprOnly,
		"GET /usage":                   sprOnly,
		"GET /providers":               sprOnly,
		"POST /providers":              sprOnly,
		"GET /providers/{id}":          sprOnly,
		"PUT /providers/{id}":          sprOnly,
		"DELETE /providers/{id}":       sprOnly,
		"GET /login/providers":         anyone,
		"GET /login/sso/start":         anyone,
		"GET /login/sso/callback":      anyone,
		"POST /login/sso/acs":          anyone,
		"GET /login/sso/logout":        anyone,
	}
)

// matrixRequest is what the matrix sends to a route: a request that does
// something real when allowed.
func matrixRequest(rt httpapi.Route, role, group string, vsGrants []string) (path, body, ct string) {
	path, b, ct := matrixBody(rt, role, group, vsGrants)
	if b != nil {
		raw, _ := json.Marshal(b)
		body = string(raw)
	}
	if ct == "" && rt.Method != http.MethodGet {
		ct = "application/json"
	}
	return path, body, ct
}

func matrixBody(rt httpapi.Route, role, group string, vsGrants []string) (path string, body any, ct string) {
	i := slices.Index(allRoles, role)
	path = strings.ReplaceAll(rt.Path, "{login}", "cible")
	switch {
	case strings.HasPrefix(rt.Path, "/groups/"):
		path = strings.ReplaceAll(path, "{id}", group)
	case strings.HasPrefix(rt.Path, "/profiles/"):
		path = strings.ReplaceAll(path, "{id}", sesame.StaffID)
	case strings.HasPrefix(rt.Path, "/spaces/"):
		path = strings.ReplaceAll(path, "{id}", string(sesame.SpaceParent))
	case strings.HasPrefix(rt.Path, "/providers/"):
		path = strings.ReplaceAll(path, "{id}", "ent")
	default:
		path = strings.ReplaceAll(path, "{id}", "x")
	}
	switch rt.Method + " " + rt.Path {
	case "POST /login":
		body = map[string]string{"school": "0751234A", "login": "inconnu-" + role, "password": "pas-le-bon", "mode": "admin"}
	case "POST /heartbeat":
		body = map[string]float64{"idleSeconds": 0}
	case "GET /authorize":
		path += "?action=" + sesame.ActionSPRJournal
	case "POST /uploads":
		body = map[string]any{"size": 2, "contentType": "application/zip"}
	case "PUT /uploads/{id}":
		body, ct = "PK", "application/zip"
	case "POST /recoveries":
		body = map[string]any{"fromYear": "2025-2026", "add": true, "dryRun": true}
	case "POST /users":
		body = map[string]string{"login": "cree-par-" + role, "displayName": "Créé par " + role, "kind": "student"}
	case "PATCH /users/{login}":
		body = map[string]string{"displayName": "Cible vue par " + role}
	case "POST /users/{login}/password":
		body = map[string]string{}
	case "POST /groups":
		body = map[string]string{"name": "Groupe de " + role}
	case "POST /profiles":
		body = map[string]string{"name": "Profil de " + role, "mode": "teacher"}
	case "PATCH /groups/{id}":
		// Each role asks for a change of its own, so that no request is
		// a no-op.
		body = map[string]any{"grants": vsGrants[i : i+1]}
	case "PATCH /profiles/{id}":
		body = map[string]any{"grants": slices.Delete(slices.Clone(vsGrants), i, i+1)}
	case "PATCH /spaces/{id}":
		body = map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 600 + 60*i}}
	case "POST /providers":
		body = matrixProvider("ent-" + role)
	case "PUT /providers/{id}":
		p := matrixProvider("ent")
		p["displayName"], p["version"] = "ENT vu par "+role, 1
		body = p
	case "DELETE /providers/{id}":
		path += "?version=2"
	case "GET /login/providers":
		path += "?school=0751234A"
	case "GET /login/sso/start":
		path += "?school=0751234A&provider=ent&mode=teacher"
	case "POST /login/sso/acs":
		ct = "application/x-www-form-urlencoded"
	}
	return path, body, ct
}

// namesObjectOfA reports whether the matrix's request on path names an
// object that only school A has (the built-in profiles and spaces have the
// same IDs in every base).
func namesObjectOfA(path string) bool {
	for _, p := range []string{"/users/", "/groups/", "/connections/", "/recoveries/", "/providers/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// TestRoleMatrix crosses every route of the API with every role: each
// route lets in exactly the roles it names, and refuses every other one
// (401 without a session, 403 forbidden with one). The other school's SPR
// reaches only its own base: the objects of this school answer 404.
func TestRoleMatrix(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		lic := sesame.DefaultLicense
		lic.Consultation = true
		a := newWorld(t, st, "0751234A", lic)
		b := &world{t: t, svc: a.svc, srv: a.srv, clock: a.clock, uai: "0931234B", year: "2026-2027"}
		if _, err := a.svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: b.uai, Name: "Lycée B", Year: b.year, SPRPassword: pw}); err != nil {
			t.Fatal(err)
		}
		a.user("admin-modif", "staff", "Modification", "")
		a.user("admin-consult", "staff", "Consultation", "")
		a.user("vs", "staff", "", "")
		a.user("prof", "teacher", "", "")
		a.user("parent", "parent", "", "")
		a.user("eleve", "student", "", "")
		a.user("cible", "teacher", "", "")
		sprA := a.spr()
		g := sprA.do("POST", "/groups", map[string]string{"name": "Secrétariat"}, nil)
		wantStatus(t, "create group", g, http.StatusCreated, "")
		group := g.body["id"].(string)
		a.user("membre", "staff", "Secrétariat", "")
		wantStatus(t, "create provider", sprA.do("POST", "/providers", matrixProvider("ent"), nil), http.StatusCreated, "")
		vsGrants := sesame.Ceiling(sesame.ModeVieScolaire, sesame.Modify).Slugs()

		browsers := map[string]*browser{roleAnonymous: a.browser()}
		signIn := func(role string, w *world, login, mode, access string) {
			br := w.browser()
			br.mustLogin(login, mode, access)
			browsers[role] = br
		}
		signIn(roleSPR, a, "spr", "admin", "")
		signIn(roleModif, a, "admin-modif", "admin", "")
		signIn(roleConsult, a, "admin-consult", "admin", "consult")
		signIn(roleVieScolaire, a, "vs", "vie-scolaire", "")
		signIn(roleTeacher, a, "prof", "teacher", "")
		signIn(roleParent, a, "parent", "parent", "")
		signIn(roleStudent, a, "eleve", "student", "")
		signIn(roleOtherSPR, b, "spr", "admin", "")

		// Logout ends the session: it goes last.
		routes := slices.Clone(httpapi.Routes)
		slices.SortStableFunc(routes, func(x, y httpapi.Route) int {
			lx, ly := x.Path == "/logout", y.Path == "/logout"
			switch {
			case lx && !ly:
				return 1
			case ly && !lx:
				return -1
			}
			return 0
		})
		for _, rt := range routes {
			key := rt.Method + " " + rt.Path
			allowed, ok := allowedBy[key]
			if !ok {
				t.Errorf("%s: the matrix does not say who may use it", key)
				continue
			}
			for _, role := range allRoles {
				path, body, ct := matrixRequest(rt, role, group, vsGrants)
				got := browsers[role].raw(rt.Method, path, body, ct)
				what := role + " → " + key
				switch {
				case !slices.Contains(allowed, role) && role == roleAnonymous:
					if got.status != http.StatusUnauthorized || got.code() != "unauthenticated" {
						t.Errorf("%s: %d %s, want 401 unauthenticated", what, got.status, got.code())
					}
				case !slices.Contains(allowed, role):
					if got.status != http.StatusForbidden || got.code() != "forbidden" {
						t.Errorf("%s: %d %s, want 403 forbidden", what, got.status, got.code())
					}
				case role == roleOtherSPR && namesObjectOfA(rt.Path):
					// Names an object of school A: not found from school B.
					if got.status != http.StatusNotFound || got.code() != "not_found" {
						t.Errorf("%s (an object of another school): %d %s, want 404 not_found", what, got.status, got.code())
					}
				case got.status == http.StatusForbidden || got.code() == "unauthenticated" || got.code() == "forbidden":
					t.Errorf("%s: refused (%d %s %v), but the route allows it", what, got.status, got.code(), got.json)
				case got.status >= 500:
					t.Errorf("%s: %d %v", what, got.status, got.json)
				}
			}
		}
		// What the other school's SPR changed is its own base only.
		other := b.spr()
		bi := slices.Index(allRoles, roleOtherSPR)
		if got := sprA.do("GET", "/spaces/parent", nil, nil).body["autoDisconnect"].(map[string]any)["seconds"]; got == float64(600+60*bi) {
			t.Error("school B's SPR changed school A's parent space")
		}
		if got := other.do("GET", "/spaces/parent", nil, nil).body["autoDisconnect"].(map[string]any)["seconds"]; got != float64(600+60*bi) {
			t.Errorf("school B's parent space: %v seconds, want %d", got, 600+60*bi)
		}
		sprA = a.spr()
		if got := len(sprA.do("GET", "/profiles/personnels", nil, nil).body["grants"].([]any)); got != len(vsGrants)-1 {
			t.Errorf("school A's staff profile has %d grants, want %d", got, len(vsGrants)-1)
		}
		// What the other school's SPR lists is its own base only.
		browsers[roleOtherSPR] = other
		for _, u := range browsers[roleOtherSPR].do("GET", "/users", nil, nil).body["users"].([]any) {
			if l := u.(map[string]any)["login"]; l != "spr" && !strings.HasPrefix(l.(string), "cree-par-") {
				t.Errorf("school B's SPR lists %v", l)
			}
		}
		for _, p := range browsers[roleOtherSPR].do("GET", "/groups", nil, nil).body["items"].([]any) {
			if p.(map[string]any)["name"] == "Secrétariat" {
				t.Error("school B's SPR lists school A's group")
			}
		}
		for _, e := range browsers[roleOtherSPR].do("GET", "/journal?limit=1000", nil, nil).body["entries"].([]any) {
			if s, _ := e.(map[string]any)["subject"].(string); s == "cible" || s == "admin-modif" {
				t.Errorf("school B's SPR reads school A's journal: %v", e)
			}
		}
	})
}

// matrixProvider is the body of a valid CAS provider named id.
func matrixProvider(id string) map[string]any {
	return map[string]any{"id": id, "protocol": "cas", "displayName": "ENT " + id, "casUrl": "https://ent.example.fr/cas",
		"claim": "uid", "kinds": []string{"teacher", "student"}}
}
