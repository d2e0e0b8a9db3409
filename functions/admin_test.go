package functions_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
)

// withBody returns ev with a JSON body (and its content-length).
func withBody(t *testing.T, ev events.APIGatewayV2HTTPRequest, body any) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ev.Body = string(b)
	return withHeader(ev, "content-length", strconv.Itoa(len(b)))
}

// withPath returns ev aimed at path parameter name = value, as API Gateway
// would send it.
func withPath(ev events.APIGatewayV2HTTPRequest, name, value string) events.APIGatewayV2HTTPRequest {
	_, pattern, _ := strings.Cut(ev.RouteKey, " ")
	ev.RawPath = strings.Replace(pattern, "{"+name+"}", value, 1)
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.PathParameters = map[string]string{name: value}
	return ev
}

// withQuery returns ev with the query string q (both of its forms).
func withQuery(ev events.APIGatewayV2HTTPRequest, q url.Values) events.APIGatewayV2HTTPRequest {
	ev.RawQueryString = q.Encode()
	ev.QueryStringParameters = map[string]string{}
	for k, v := range q {
		ev.QueryStringParameters[k] = strings.Join(v, ",")
	}
	return ev
}

// signIn signs login in through login.json's event, in mode, and returns
// the session token.
func (s *site) signIn(login, password, mode string) string {
	s.t.Helper()
	ev := withBody(s.t, loadEvent(s.t, "login"), map[string]string{"school": uai, "login": login, "password": password, "mode": mode})
	r := s.invoke("login", ev)
	want(s.t, "login of "+login, r, http.StatusOK, "")
	return r.cookie(httpapi.SessionCookie).Value
}

// TestAdminThroughFunction runs the administration routes through the
// admin function's handler, on a bbolt file and on DynamoDB Local (built by
// fn.New from the environment the template sets, the journal's retention
// included), and checks what the store then holds.
func TestAdminThroughFunction(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		ctx := t.Context()
		k := sesame.BaseKey{UAI: uai, Year: "2026-2027"}
		spr := s.login()
		admin := func(name string, ev events.APIGatewayV2HTTPRequest, status int, code string) reply {
			t.Helper()
			r := s.invoke("admin", signedIn(ev, spr))
			want(t, name, r, status, code)
			return r
		}
		user := func(login string) sesame.User {
			t.Helper()
			u, err := s.st.GetUser(ctx, k, login)
			if err != nil {
				t.Fatalf("GetUser(%s): %v", login, err)
			}
			return u
		}
		profile := func(id string) sesame.Profile {
			t.Helper()
			p, err := s.st.GetProfile(ctx, k, id)
			if err != nil {
				t.Fatalf("GetProfile(%s): %v", id, err)
			}
			return p
		}

		// Users.
		r := admin("create-user.json", loadEvent(t, "create-user"), http.StatusCreated, "")
		generated, _ := r.body["password"].(string)
		if u := user("prof.martin"); u.Kind != sesame.KindTeacher || u.DisplayName != "M. Martin" || u.Profile != sesame.TeachersID || !u.Enabled || len(generated) != 16 {
			t.Fatalf("created %+v, generated password %q", u, generated)
		}
		admin("create-user.json again", loadEvent(t, "create-user"), http.StatusConflict, sesame.CodeExists)
		teacher := s.signIn("prof.martin", generated, "teacher")
		// A teacher is not an administrator.
		if r := s.invoke("admin", signedIn(loadEvent(t, "users"), teacher)); r.StatusCode != http.StatusForbidden || r.code() != sesame.CodeForbidden {
			t.Fatalf("users.json as a teacher: %d %s", r.StatusCode, r.Body)
		}
		want(t, "users.json signed out", s.invoke("admin", loadEvent(t, "users")), http.StatusUnauthorized, "unauthenticated")

		r = admin("users.json", loadEvent(t, "users"), http.StatusOK, "")
		if users, _ := r.body["users"].([]any); len(users) != 1 || users[0].(map[string]any)["login"] != "prof.martin" {
			t.Fatalf("users.json (q=martin, kind=teacher): %s", r.Body)
		}
		r = admin("user.json", loadEvent(t, "user"), http.StatusOK, "")
		if r.body["displayName"] != "M. Martin" || r.body["profile"] != sesame.TeachersID || r.body["version"] != 1.0 {
			t.Fatalf("user.json: %s", r.Body)
		}
		admin("update-user.json", loadEvent(t, "update-user"), http.StatusOK, "")
		if u := user("prof.martin"); u.DisplayName != "M. Martin (mathématiques)" || u.Version != 2 {
			t.Fatalf("after update-user.json: %+v", u)
		}
		// The same edit, made from the version read before: a conflict.
		admin("update-user.json again", loadEvent(t, "update-user"), http.StatusConflict, sesame.CodeConflict)
		admin("user.json, unknown login", withPath(loadEvent(t, "user"), "login", "inconnu"), http.StatusNotFound, sesame.CodeNotFound)

		r = admin("user-password.json", loadEvent(t, "user-password"), http.StatusOK, "")
		newPassword, _ := r.body["password"].(string)
		if r.body["generated"] != true || len(newPassword) != 16 || newPassword == generated {
			t.Fatalf("user-password.json: %s", r.Body)
		}
		// The stored hash is the new password's: it signs in.
		teacher = s.signIn("prof.martin", newPassword, "teacher")

		// Disabling the account ends its session at once.
		admin("update-user.json (disable)", withBody(t, loadEvent(t, "update-user"), map[string]any{"enabled": false}), http.StatusOK, "")
		if u := user("prof.martin"); u.Enabled {
			t.Fatal("still enabled")
		}
		r = s.invoke("seats", signedIn(loadEvent(t, "session"), teacher))
		want(t, "the disabled teacher's session", r, http.StatusUnauthorized, "unauthenticated")
		if e := r.body["error"].(map[string]any); e["reason"] != string(sesame.ReasonDisconnected) {
			t.Fatalf("reason %v, want disconnected", e["reason"])
		}

		// Groups, profiles and spaces, each in its own collection.
		for _, c := range []struct{ fixture, id string }{{"groups", sesame.ModificationID}, {"profiles", sesame.TeachersID}, {"spaces", string(sesame.SpaceParent)}} {
			r := admin(c.fixture+".json", loadEvent(t, c.fixture), http.StatusOK, "")
			found := false
			for _, it := range r.body["items"].([]any) {
				m := it.(map[string]any)
				found = found || m["id"] == c.id
				if ad := m["autoDisconnect"].(map[string]any); ad["enabled"] != true || ad["seconds"] != 1800.0 {
					t.Errorf("%s: %v, want the default automatic disconnection (30 minutes)", c.fixture, m)
				}
			}
			if !found {
				t.Errorf("%s.json lacks %s: %s", c.fixture, c.id, r.Body)
			}
		}
		for _, f := range []string{"group", "profile", "space"} {
			admin(f+".json", loadEvent(t, f), http.StatusOK, "")
		}
		admin("group.json naming a profile", withPath(loadEvent(t, "group"), "id", sesame.TeachersID), http.StatusNotFound, sesame.CodeNotFound)

		admin("update-group.json", loadEvent(t, "update-group"), http.StatusOK, "")
		if p := profile(sesame.ModificationID); p.AutoDisconnect != (sesame.AutoDisconnect{Enabled: true, After: 15 * time.Minute}) || p.Version != 2 {
			t.Fatalf("modification after update-group.json: %+v", p)
		}
		admin("update-profile.json", loadEvent(t, "update-profile"), http.StatusOK, "")
		if p := profile(sesame.StaffID); p.AutoDisconnect.Enabled {
			t.Fatalf("personnels after update-profile.json: %+v", p)
		}
		admin("update-space.json", loadEvent(t, "update-space"), http.StatusOK, "")
		if p := profile(string(sesame.SpaceParent)); p.AutoDisconnect != (sesame.AutoDisconnect{Enabled: true, After: 20 * time.Minute}) {
			t.Fatalf("parent space after update-space.json: %+v", p)
		}
		admin("update-space.json, too short", withBody(t, loadEvent(t, "update-space"), map[string]any{"autoDisconnect": map[string]any{"enabled": true, "seconds": 5}}),
			http.StatusBadRequest, sesame.CodeInvalid)

		for _, c := range []struct{ create, del string }{{"create-group", "delete-group"}, {"create-profile", "delete-profile"}} {
			r := admin(c.create+".json", loadEvent(t, c.create), http.StatusCreated, "")
			id, _ := r.body["id"].(string)
			if p := profile(id); p.Name != r.body["name"] {
				t.Fatalf("%s: stored %+v", c.create, p)
			}
			ev := withQuery(withPath(loadEvent(t, c.del), "id", id), url.Values{"version": {"1"}})
			admin(c.del+".json", ev, http.StatusNoContent, "")
			if _, err := s.st.GetProfile(ctx, k, id); !errors.Is(err, sesame.ErrNotFound) {
				t.Fatalf("%s: %s still there (%v)", c.del, id, err)
			}
		}
		admin("delete-profile.json, a built-in profile", withPath(loadEvent(t, "delete-profile"), "id", sesame.TeachersID), http.StatusConflict, sesame.CodeProtected)

		// The journal holds all of that, kept as long as the function was
		// told.
		r = admin("journal.json", loadEvent(t, "journal"), http.StatusOK, "")
		logins := map[string]bool{}
		for _, e := range r.body["entries"].([]any) {
			m := e.(map[string]any)
			if m["event"] != "login" && m["event"] != "login_refused" {
				t.Errorf("journal.json (event=login,login_refused) gave %v", m)
			}
			logins[m["subject"].(string)] = true
		}
		if !logins["spr"] || !logins["prof.martin"] {
			t.Errorf("journal.json: the sign-ins of spr and prof.martin are missing: %s", r.Body)
		}
		page, err := s.st.ListJournal(ctx, k, sesame.JournalQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		events := map[sesame.Event]int{}
		for _, e := range page.Entries {
			events[e.Event]++
			if got := e.ExpiresAt.Sub(e.At); got != retentionDays*24*time.Hour {
				t.Errorf("%s entry kept %v, want %d days", e.Event, got, retentionDays)
			}
			if e.Event == sesame.EventUserCreated && e.Actor != "spr" {
				t.Errorf("user_created by %q", e.Actor)
			}
		}
		for _, ev := range []sesame.Event{sesame.EventUserCreated, sesame.EventUserUpdated, sesame.EventPasswordReset, sesame.EventUserDisabled,
			sesame.EventProfileCreated, sesame.EventProfileUpdated, sesame.EventProfileDeleted, sesame.EventLogin} {
			if events[ev] == 0 {
				t.Errorf("no %s entry in the journal: %v", ev, events)
			}
		}

		today := sesame.Day(time.Now())
		res, err := s.handlers["admin"](ctx, signedIn(withQuery(loadEvent(t, "journal-csv"), url.Values{"from": {today}, "to": {today}}), spr))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK || res.IsBase64Encoded || !strings.HasPrefix(res.Headers["Content-Type"], "text/csv") {
			t.Fatalf("journal-csv.json: %d %v %s", res.StatusCode, res.Headers, res.Body)
		}
		rows, err := readCSV(res.Body)
		if err != nil || len(rows) != len(page.Entries)+1 || strings.Join(rows[0], ";") != strings.Join(sesame.JournalCSVHeader, ";") {
			t.Fatalf("journal-csv.json: %d rows for %d entries (%v):\n%s", len(rows), len(page.Entries), err, res.Body)
		}
		// The fixture's own period (September) holds nothing yet.
		res, _ = s.handlers["admin"](ctx, signedIn(loadEvent(t, "journal-csv"), spr))
		if rows, err := readCSV(res.Body); res.StatusCode != http.StatusOK || err != nil || len(rows) != 1 {
			t.Fatalf("journal-csv.json as is: %d, %d rows (%v)", res.StatusCode, len(rows), err)
		}

		r = admin("usage.json today", withQuery(loadEvent(t, "usage"), url.Values{"from": {today}, "to": {today}}), http.StatusOK, "")
		days, _ := r.body["days"].([]any)
		if len(days) != 1 || days[0].(map[string]any)["pool"] != string(sesame.PoolTeacher) || days[0].(map[string]any)["peak"] != 1.0 {
			t.Fatalf("usage.json today: %s, want the teacher pool's peak of 1 (the SPR takes no seat)", r.Body)
		}
		r = admin("usage.json", loadEvent(t, "usage"), http.StatusOK, "")
		if days, _ := r.body["days"].([]any); len(days) != 0 || len(r.body["pools"].([]any)) != len(sesame.Pools) {
			t.Fatalf("usage.json (September): %s", r.Body)
		}
		admin("usage.json, bad date", withQuery(loadEvent(t, "usage"), url.Values{"from": {"hier"}}), http.StatusBadRequest, sesame.CodeInvalid)
	})
}

// readCSV reads the journal's export: a byte-order mark, then semicolons.
func readCSV(body string) ([][]string, error) {
	if !strings.HasPrefix(body, "\uFEFF") {
		return nil, errors.New("no byte-order mark")
	}
	r := csv.NewReader(bytes.NewReader([]byte(strings.TrimPrefix(body, "\uFEFF"))))
	r.Comma = ';'
	return r.ReadAll()
}

// TestAdminBinary builds functions/admin as it is deployed and runs it
// under RIE (see runningFunction) against DynamoDB Local, with the journal's
// retention in its environment as template.yaml sets it: an SPR's change
// lands in the table, with a journal entry kept that long. Skipped with
// -short.
func TestAdminBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the admin function; skipped with -short")
	}
	client, table := dynamolocal.NewTable(t)
	st, err := dynamo.New(client, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	svc := app.NewService(st, sesame.DefaultTiming)
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège Victor-Hugo", Year: "2026-2027", SPRPassword: sprPass}); err != nil {
		t.Fatal(err)
	}
	login, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "spr", Password: sprPass, Mode: "admin"})
	if err != nil {
		t.Fatal(err)
	}

	const days = 45
	f := startFunction(t, "AdminFunction", table, lambdarie.Values{Refs: map[string]string{"JournalRetentionDays": strconv.Itoa(days)}})
	invoke := func(name string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		t.Helper()
		raw, _ := json.Marshal(ev)
		var res events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(f.invoke(name, raw), &res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	if res := invoke("update-group", signedIn(loadEvent(t, "update-group"), login.Token)); res.StatusCode != http.StatusOK {
		t.Fatalf("update-group.json: %d %s", res.StatusCode, res.Body)
	}
	k := sesame.BaseKey{UAI: uai, Year: "2026-2027"}
	if p, err := st.GetProfile(ctx, k, sesame.ModificationID); err != nil || p.AutoDisconnect.After != 15*time.Minute {
		t.Fatalf("modification: %+v %v", p, err)
	}
	page, err := st.ListJournal(ctx, k, sesame.JournalQuery{Events: []sesame.Event{sesame.EventProfileUpdated}})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("journal: %+v %v", page, err)
	}
	if e := page.Entries[0]; e.Actor != "spr" || e.ExpiresAt.Sub(e.At) != days*24*time.Hour {
		t.Fatalf("journal entry %+v: want the SPR's, kept %d days", e, days)
	}
	if res := invoke("login", loadEvent(t, "login")); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, `"not_found"`) {
		t.Fatalf("login.json to the admin function: %d %s, want 404 not_found", res.StatusCode, res.Body)
	}
	if logs := f.logs(); !strings.Contains(logs, `"function":"admin"`) || !strings.Contains(logs, `"route":"/groups/{id}"`) {
		t.Fatalf("the function's JSON log:\n%s", logs)
	}
}
