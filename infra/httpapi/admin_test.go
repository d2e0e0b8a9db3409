package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

func logins(a answer) []string {
	var out []string
	for _, u := range a.body["users"].([]any) {
		out = append(out, u.(map[string]any)["login"].(string))
	}
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestUsersAdministration: list, search and page; create, edit,
// deactivate (its sessions end and its seats are free at once),
// reactivate, reset a password; who may touch administrative users.
func TestUsersAdministration(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.License{AdminSeats: 2, TeacherSeats: 30})
		w.user("modif", "staff", "Modification", "")
		spr, modif := w.spr(), w.browser()
		modif.mustLogin("modif", "admin", "")

		// Create: a generated password is shown once and works.
		c := modif.do("POST", "/users", map[string]string{"login": "hdupre", "displayName": "Hélène Dupré", "kind": "teacher"}, nil)
		wantStatus(t, "create teacher", c, http.StatusCreated, "")
		gen, _ := c.body["password"].(string)
		if len(gen) < 12 || c.body["user"].(map[string]any)["profile"] != sesame.TeachersID {
			t.Fatalf("created: %v", c.body)
		}
		teacher := w.browser()
		teacher.do("POST", "/login", map[string]string{"school": w.uai, "login": "HDupre", "password": gen, "mode": "teacher"}, nil)
		wantStatus(t, "the new teacher signs in", teacher.do("GET", "/session", nil, nil), http.StatusOK, "")
		wantStatus(t, "same login again", modif.do("POST", "/users", map[string]string{"login": "HDUPRE", "displayName": "X", "kind": "teacher", "password": pw}, nil),
			http.StatusConflict, "already_exists")
		wantStatus(t, "bad kind", modif.do("POST", "/users", map[string]string{"login": "x", "displayName": "X", "kind": "robot", "password": pw}, nil),
			http.StatusBadRequest, "invalid_value")
		wantStatus(t, "short password", modif.do("POST", "/users", map[string]string{"login": "x", "displayName": "X", "kind": "teacher", "password": "court"}, nil),
			http.StatusBadRequest, "invalid_value")
		// Only the SPR makes administrative users.
		wantStatus(t, "modif makes an admin user", modif.do("POST", "/users", map[string]string{"login": "adm2", "displayName": "Adm", "kind": "staff", "adminGroup": "Modification", "password": pw}, nil),
			http.StatusForbidden, "forbidden")
		wantStatus(t, "modif edits an admin user", modif.do("PATCH", "/users/modif", map[string]any{"displayName": "Moi"}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "modif edits the SPR", modif.do("POST", "/users/spr/password", map[string]any{}, nil), http.StatusConflict, "protected")
		wantStatus(t, "SPR makes an admin user", spr.do("POST", "/users", map[string]string{"login": "adm2", "displayName": "Adm", "kind": "staff", "adminGroup": "Modification", "password": pw}, nil),
			http.StatusCreated, "")
		wantStatus(t, "nobody joins Administration", spr.do("PATCH", "/users/adm2", map[string]any{"adminGroup": "Administration"}, nil), http.StatusConflict, "protected")
		wantStatus(t, "the SPR stays enabled", spr.do("PATCH", "/users/spr", map[string]any{"enabled": false}, nil), http.StatusConflict, "protected")

		// Search: accents and case folded, several words, kind filter, paging.
		for i, n := range []string{"Élodie Martin", "Eloïse Martinez", "Paul Martin", "Zoé Bernard"} {
			wantStatus(t, "create", modif.do("POST", "/users", map[string]string{"login": "u" + string(rune('a'+i)), "displayName": n, "kind": "student", "password": pw}, nil), http.StatusCreated, "")
		}
		if got := logins(modif.do("GET", "/users?q="+url.QueryEscape("helene DUPRE"), nil, nil)); !slices.Equal(got, []string{"hdupre"}) {
			t.Fatalf("search helene DUPRE: %v", got)
		}
		if got := logins(modif.do("GET", "/users?q=martin+elo", nil, nil)); !slices.Equal(got, []string{"ua", "ub"}) {
			t.Fatalf("search martin elo: %v", got)
		}
		if got := logins(modif.do("GET", "/users?kind=teacher", nil, nil)); !slices.Equal(got, []string{"hdupre"}) {
			t.Fatalf("teachers: %v", got)
		}
		var all []string
		for after, n := "", 0; ; n++ {
			p := modif.do("GET", "/users?limit=3&after="+after, nil, nil)
			wantStatus(t, "page", p, http.StatusOK, "")
			all = append(all, logins(p)...)
			next, _ := p.body["next"].(string)
			if next == "" || n > 10 {
				break
			}
			after = next
		}
		if want := []string{"adm2", "hdupre", "modif", "spr", "ua", "ub", "uc", "ud"}; !slices.Equal(all, want) {
			t.Fatalf("paged through %v, want %v", all, want)
		}
		wantStatus(t, "bad kind filter", modif.do("GET", "/users?kind=robot", nil, nil), http.StatusBadRequest, "invalid_value")

		// Edit with the version read: a stale version is a conflict.
		u := modif.do("GET", "/users/hdupre", nil, nil)
		v := u.body["version"]
		wantStatus(t, "edit", modif.do("PATCH", "/users/hdupre", map[string]any{"displayName": "Hélène Dupré-Roy", "version": v}, nil), http.StatusOK, "")
		wantStatus(t, "stale edit", modif.do("PATCH", "/users/hdupre", map[string]any{"displayName": "Autre", "version": v}, nil), http.StatusConflict, "conflict")
		wantStatus(t, "unknown profile", modif.do("PATCH", "/users/hdupre", map[string]any{"profile": "Personnels"}, nil), http.StatusNotFound, "not_found")
		wantStatus(t, "unknown user", modif.do("PATCH", "/users/personne", map[string]any{"displayName": "X"}, nil), http.StatusNotFound, "not_found")
		wantStatus(t, "unknown field", modif.do("PATCH", "/users/hdupre", map[string]any{"motDePasse": "X"}, nil), http.StatusBadRequest, "bad_request")

		// Deactivating a signed-in admin user ends the session at once and
		// frees its seat.
		a := w.browser()
		a.mustLogin("adm2", "admin", "")
		if n := w.used(sesame.PoolAdminModify); n != 2 {
			t.Fatalf("used %d, want 2", n)
		}
		wantStatus(t, "deactivate", spr.do("PATCH", "/users/adm2", map[string]any{"enabled": false}, nil), http.StatusOK, "")
		if n := w.used(sesame.PoolAdminModify); n != 1 {
			t.Fatalf("after deactivation used %d, want 1", n)
		}
		wantReason(t, "the deactivated user's next request", a.heartbeat(0), sesame.ReasonDisconnected)
		wantStatus(t, "a deactivated account signs in", a.login("adm2", "admin", ""), http.StatusForbidden, "account_disabled")
		wantStatus(t, "reactivate", spr.do("PATCH", "/users/adm2", map[string]any{"enabled": true}, nil), http.StatusOK, "")
		a.mustLogin("adm2", "admin", "")

		// Leaving the admin groups ends the admin-mode session.
		wantStatus(t, "leave admin groups", spr.do("PATCH", "/users/adm2", map[string]any{"adminGroup": ""}, nil), http.StatusOK, "")
		wantReason(t, "admin session after leaving", a.heartbeat(0), sesame.ReasonDisconnected)
		wantStatus(t, "no admin mode any more", a.login("adm2", "admin", ""), http.StatusForbidden, "mode_forbidden")

		// Reset a password: the old one stops working.
		r := modif.do("POST", "/users/ua/password", map[string]any{}, nil)
		wantStatus(t, "reset", r, http.StatusOK, "")
		np := r.body["password"].(string)
		wantStatus(t, "old password", w.browser().login("ua", "student", ""), http.StatusUnauthorized, "invalid_credentials")
		ok := w.browser().do("POST", "/login", map[string]string{"school": w.uai, "login": "ua", "password": np, "mode": "student"}, nil)
		wantStatus(t, "new password", ok, http.StatusOK, "")
		// A reset ends the account's open sessions, and gives the version
		// that the next edit names.
		student := w.browser()
		student.do("POST", "/login", map[string]string{"school": w.uai, "login": "ua", "password": np, "mode": "student"}, nil)
		wantStatus(t, "student signed in", student.do("GET", "/session", nil, nil), http.StatusOK, "")
		r = modif.do("POST", "/users/ua/password", map[string]any{"password": "un-autre-mot-de-passe"}, nil)
		wantStatus(t, "chosen password", r, http.StatusOK, "")
		if r.body["password"] != nil || r.body["generated"] != false {
			t.Fatalf("a chosen password is echoed: %v", r.body)
		}
		wantReason(t, "the student after the reset", student.do("GET", "/session", nil, nil), sesame.ReasonDisconnected)
		wantStatus(t, "edit with the reset's version", modif.do("PATCH", "/users/ua", map[string]any{"displayName": "Élodie M.", "version": r.body["version"]}, nil), http.StatusOK, "")
	})
}

func profileByName(t *testing.T, b *browser, collection, name string) map[string]any {
	t.Helper()
	a := b.do("GET", collection, nil, nil)
	wantStatus(t, "GET "+collection, a, http.StatusOK, "")
	for _, p := range a.body["items"].([]any) {
		if m := p.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("%s has no %q", collection, name)
	return nil
}

// TestGroupsProfilesAndSpaces: the rules on groups, profiles and spaces,
// and changes reaching live sessions at their next heartbeat.
func TestGroupsProfilesAndSpaces(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
		w.svc.MinIdle = time.Second
		w.user("modif", "staff", "Modification", "")
		w.user("vs", "staff", "", "")
		w.user("prof", "teacher", "", "")
		spr, modif := w.spr(), w.browser()
		modif.mustLogin("modif", "admin", "")

		// Administration cannot be retyped, renamed, stripped or removed.
		admin := profileByName(t, spr, "/groups", "Administration")
		if admin["protected"] == nil || admin["can"].(map[string]any)["delete"] != false {
			t.Fatalf("Administration: %v", admin)
		}
		wantStatus(t, "retype Administration", spr.do("PATCH", "/groups/administration", map[string]any{"type": "modif"}, nil), http.StatusConflict, "protected")
		wantStatus(t, "strip Administration", spr.do("PATCH", "/groups/administration", map[string]any{"grants": []string{}}, nil), http.StatusConflict, "protected")
		wantStatus(t, "remove Administration", spr.do("DELETE", "/groups/administration", nil, nil), http.StatusConflict, "protected")
		wantStatus(t, "remove Professeurs", spr.do("DELETE", "/profiles/professeurs", nil, nil), http.StatusConflict, "protected")
		// consult groups need the consultation licence.
		wantStatus(t, "consult group without licence", spr.do("POST", "/groups", map[string]any{"name": "Lecteurs", "type": "consult"}, nil),
			http.StatusForbidden, sesame.CodeUnlicensed)
		wantStatus(t, "admin type", spr.do("POST", "/groups", map[string]any{"name": "Chefs", "type": "admin"}, nil), http.StatusConflict, "protected")
		wantStatus(t, "a profile is not a group", spr.do("POST", "/profiles", map[string]any{"name": "X", "mode": "admin"}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "groups live on /groups", spr.do("GET", "/profiles/administration", nil, nil), http.StatusNotFound, "not_found")

		// A new group: grants within the admin ceiling only.
		g := spr.do("POST", "/groups", map[string]any{"name": "Secrétariat", "grants": []string{"ressources.consulter-listes-ressources"},
			"autoDisconnect": map[string]any{"enabled": true, "seconds": 600}}, nil)
		wantStatus(t, "create group", g, http.StatusCreated, "")
		if g.body["type"] != "modif" || len(g.body["ceiling"].([]any)) != 97 || g.body["autoDisconnect"].(map[string]any)["seconds"] != 600.0 {
			t.Fatalf("group: %v", g.body)
		}
		id := g.body["id"].(string)
		wantStatus(t, "same name", spr.do("POST", "/groups", map[string]any{"name": "secrétariat"}, nil), http.StatusConflict, "already_exists")
		wantStatus(t, "SPR-only grant", spr.do("PATCH", "/groups/"+id, map[string]any{"grants": []string{sesame.ActionSPRJournal}}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "unknown grant among the current ones", spr.do("PATCH", "/groups/"+id, map[string]any{"grants": []string{"ressources.consulter-listes-ressources", "x.y"}}, nil),
			http.StatusBadRequest, "unknown_action")
		wantStatus(t, "unknown grant", spr.do("PATCH", "/groups/"+id, map[string]any{"grants": []string{"voler-la-base"}}, nil), http.StatusBadRequest, "unknown_action")
		wantStatus(t, "too short", spr.do("PATCH", "/groups/"+id, map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 0}}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "too long", spr.do("PATCH", "/groups/"+id, map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 13 * 3600}}, nil), http.StatusBadRequest, "invalid_value")
		// Vie scolaire actions only in the staff profile's ceiling.
		teacherOnly := "cahier-textes.saisir-cahier-textes"
		wantStatus(t, "beyond the VS ceiling", spr.do("PATCH", "/profiles/personnels", map[string]any{"grants": []string{teacherOnly}}, nil), http.StatusBadRequest, "invalid_value")

		// The admin user with action 7 edits staff grants, not their
		// automatic disconnection, and nothing of groups or teachers.
		staff := profileByName(t, modif, "/profiles", "Personnels")
		can := staff["can"].(map[string]any)
		if can["grants"] != true || can["autoDisconnect"] != false || can["delete"] != false {
			t.Fatalf("modif's rights on Personnels: %v", can)
		}
		grants := strs(staff["grants"])
		fewer := slices.DeleteFunc(slices.Clone(grants), func(s string) bool { return strings.HasPrefix(s, "absences.") })
		if len(fewer) == len(grants) {
			t.Fatalf("no absences.* grant to remove in %v", grants)
		}
		vs := w.browser()
		before := strs(vs.mustLogin("vs", "vie-scolaire", "").body["permissions"])
		wantStatus(t, "modif edits staff grants", modif.do("PATCH", "/profiles/personnels", map[string]any{"grants": fewer, "version": staff["version"]}, nil), http.StatusOK, "")
		wantStatus(t, "modif edits staff disconnection", modif.do("PATCH", "/profiles/personnels", map[string]any{"autoDisconnect": map[string]any{"enabled": false}}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "stale version", spr.do("PATCH", "/profiles/personnels", map[string]any{"grants": grants, "version": staff["version"]}, nil), http.StatusConflict, "conflict")
		wantStatus(t, "modif edits teacher grants", modif.do("PATCH", "/profiles/professeurs", map[string]any{"grants": []string{}}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "modif edits a group", modif.do("PATCH", "/groups/"+id, map[string]any{"grants": []string{}}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "modif edits a space", modif.do("PATCH", "/spaces/parent", map[string]any{"autoDisconnect": map[string]any{"enabled": false}}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "modif creates a group", modif.do("POST", "/groups", map[string]any{"name": "X"}, nil), http.StatusForbidden, "forbidden")
		// The live vie scolaire session sees the new grants at once.
		after := strs(vs.do("GET", "/session", nil, nil).body["permissions"])
		if len(after) != len(fewer) || len(before) == len(after) {
			t.Fatalf("vie scolaire permissions %d → %d, want %d", len(before), len(after), len(fewer))
		}

		// The SPR's disconnection setting reaches the teacher's next heartbeat.
		prof := w.browser()
		prof.mustLogin("prof", "teacher", "")
		wantStatus(t, "teacher idle", spr.do("PATCH", "/profiles/professeurs", map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 120}}, nil), http.StatusOK, "")
		hb := prof.heartbeat(0)
		if hb.body["idle"].(map[string]any)["timeoutSeconds"] != 120.0 {
			t.Fatalf("heartbeat after the change: %v", hb.body)
		}
		w.clock.Advance(121 * time.Second)
		wantReason(t, "idle teacher", prof.heartbeat(121), sesame.ReasonIdleTimeout)
		// Off: no limit any more.
		wantStatus(t, "teacher idle off", spr.do("PATCH", "/profiles/professeurs", map[string]any{"autoDisconnect": map[string]any{"enabled": false}}, nil), http.StatusOK, "")
		prof.mustLogin("prof", "teacher", "")
		if hb := prof.heartbeat(0); hb.body["idle"].(map[string]any)["enabled"] != false {
			t.Fatalf("heartbeat with the setting off: %v", hb.body)
		}

		// Spaces: one setting each; no grants, no removal.
		sp := profileByName(t, spr, "/spaces", "Espace Parents")
		if sp["class"] != "space" || len(sp["ceiling"].([]any)) != 0 {
			t.Fatalf("parent space: %v", sp)
		}
		wantStatus(t, "space grants", spr.do("PATCH", "/spaces/parent", map[string]any{"grants": []string{"ressources.consulter-listes-ressources"}}, nil), http.StatusBadRequest, "invalid_value")
		wantStatus(t, "space setting", spr.do("PATCH", "/spaces/parent", map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 900}}, nil), http.StatusOK, "")

		// A group with members cannot go; once empty it can.
		w.user("sec", "staff", "Secrétariat", "")
		wantStatus(t, "remove a group with members", spr.do("DELETE", "/groups/"+id, nil, nil), http.StatusConflict, sesame.CodeInUse)
		wantStatus(t, "empty it", spr.do("PATCH", "/users/sec", map[string]any{"adminGroup": "Modification"}, nil), http.StatusOK, "")
		wantStatus(t, "remove it", spr.do("DELETE", "/groups/"+id, nil, nil), http.StatusNoContent, "")
		wantStatus(t, "gone", spr.do("GET", "/groups/"+id, nil, nil), http.StatusNotFound, "not_found")
	})
}

// TestRetypeToConsult: a group made consult keeps its members out of
// modification at once: their sessions in modification end and free
// their seats; consultation stays open to them.
func TestRetypeToConsult(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		lic := sesame.DefaultLicense
		lic.Consultation = true
		w := newWorld(t, st, "0751234A", lic)
		w.user("m1", "staff", "Modification", "")
		w.user("m2", "staff", "Modification", "")
		spr := w.spr()
		m1, m2 := w.browser(), w.browser()
		m1.mustLogin("m1", "admin", "modify")
		m2.mustLogin("m2", "admin", "consult")
		if n := w.used(sesame.PoolAdminModify); n != 1 {
			t.Fatalf("used %d, want 1", n)
		}
		g := spr.do("PATCH", "/groups/modification", map[string]any{"type": "consult"}, nil)
		wantStatus(t, "retype", g, http.StatusOK, "")
		if g.body["type"] != "consult" || len(g.body["grants"].([]any)) != sesame.Ceiling(sesame.ModeAdmin, sesame.Consult).Len() {
			t.Fatalf("retyped group: %v", g.body)
		}
		if n := w.used(sesame.PoolAdminModify); n != 0 {
			t.Fatalf("after the retype used %d, want 0", n)
		}
		wantReason(t, "m1 in modification", m1.heartbeat(0), sesame.ReasonDisconnected)
		wantStatus(t, "m2 in consultation", m2.heartbeat(0), http.StatusOK, "")
		wantStatus(t, "m1 back in modification", m1.login("m1", "admin", "modify"), http.StatusForbidden, sesame.CodeModeForbidden)
		m1.mustLogin("m1", "admin", "consult")
	})
}
