package functions_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
)

// What the fixtures carry.
const (
	secret   = "fixture-origin-secret" // x-origin-secret
	uai      = "0751234A"              // the login body's school
	sprPass  = "mot-de-passe-solide"   // the login body's password
	viewerIP = "203.0.113.7"           // cloudfront-viewer-address, without its port
	edgeIP   = "130.176.98.76"         // requestContext.http.sourceIp: CloudFront's
)

// retentionDays is the journal retention the sites' functions are given
// (fn.EnvJournalRetention), other than the default.
const retentionDays = 30

// fastHash keeps the bbolt tests quick; the functions use password.OWASP.
var fastHash = password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})

// functionNames are the functions of httpapi.Routes.
func functionNames() []string {
	var names []string
	for _, r := range httpapi.Routes {
		if !slices.Contains(names, r.Function) {
			names = append(names, r.Function)
		}
	}
	return names
}

// function is the httpapi.Function named name.
func function(name string) httpapi.Function {
	for _, f := range httpapi.Functions() {
		if f.Name == name {
			return f
		}
	}
	panic("no function " + name)
}

// site is the hosted deployment's functions over one store, with a
// school whose SPR signs in with the fixtures' credentials.
type site struct {
	t        *testing.T
	st       sesame.Backend
	handlers map[string]fn.HandlerFunc // by function name
	logs     *bytes.Buffer
}

// eachSite runs f on functions built over a bbolt file (fn.Handler) and
// over DynamoDB Local (fn.New, from the environment the template sets).
func eachSite(t *testing.T, f func(t *testing.T, s *site)) {
	t.Run("bolt", func(t *testing.T) {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		s := &site{t: t, st: st, handlers: map[string]fn.HandlerFunc{}, logs: &bytes.Buffer{}}
		svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming,
			Retention: retentionDays * 24 * time.Hour}
		s.createSchool(svc)
		for _, name := range functionNames() {
			cfg := fn.Config{Function: function(name), Table: "unused", OriginSecret: secret, Timing: sesame.DefaultTiming, Retention: svc.Retention}
			s.handlers[name] = fn.Handler(cfg, svc, nil, cfg.Logger(s.logs))
		}
		f(t, s)
	})
	t.Run("dynamo", func(t *testing.T) {
		client, table := dynamolocal.NewTable(t)
		st, err := dynamo.New(client, table)
		if err != nil {
			t.Fatal(err)
		}
		s := &site{t: t, st: st, handlers: map[string]fn.HandlerFunc{}, logs: &bytes.Buffer{}}
		s.createSchool(app.NewService(st, sesame.DefaultTiming))
		env := map[string]string{fn.EnvTable: table, fn.EnvOriginSecret: secret, "SESAME_STAGE": "dev",
			fn.EnvJournalRetention: strconv.Itoa(retentionDays)}
		for _, name := range functionNames() {
			h, err := fn.New(t.Context(), function(name), func(k string) string { return env[k] }, s.logs, app.StoreOptions{DynamoDB: client})
			if err != nil {
				t.Fatalf("fn.New(%s): %v", name, err)
			}
			s.handlers[name] = h
		}
		f(t, s)
	})
}

func (s *site) createSchool(svc *sesame.Service) {
	s.t.Helper()
	_, err := svc.CreateSchool(context.Background(), sesame.NewSchool{UAI: uai, Name: "Collège Victor-Hugo", Year: "2026-2027", SPRPassword: sprPass})
	if err != nil {
		s.t.Fatalf("CreateSchool: %v", err)
	}
}

// reply is a function's answer, its JSON body decoded.
type reply struct {
	events.APIGatewayV2HTTPResponse
	body map[string]any
	list []any
}

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// cookie returns the Set-Cookie named name, or nil.
func (r reply) cookie(name string) *http.Cookie {
	for _, line := range r.Cookies {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

// invoke feeds ev to the named function as the Lambda runtime would.
func (s *site) invoke(function string, ev events.APIGatewayV2HTTPRequest) reply {
	s.t.Helper()
	res, err := s.handlers[function](s.t.Context(), ev)
	if err != nil {
		s.t.Fatalf("%s(%s): %v", function, ev.RouteKey, err)
	}
	r := reply{APIGatewayV2HTTPResponse: res}
	if res.IsBase64Encoded {
		s.t.Fatalf("%s(%s): a base64 body for JSON", function, ev.RouteKey)
	}
	if strings.HasPrefix(res.Body, "[") {
		_ = json.Unmarshal([]byte(res.Body), &r.list)
	} else if res.Body != "" {
		if err := json.Unmarshal([]byte(res.Body), &r.body); err != nil {
			s.t.Fatalf("%s(%s): %d, not JSON: %q", function, ev.RouteKey, res.StatusCode, res.Body)
		}
	}
	return r
}

// want fails unless r has status and, if given, the error code.
func want(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.StatusCode != status || r.code() != code {
		t.Fatalf("%s: %d %q %s, want %d %q", what, r.StatusCode, r.code(), r.Body, status, code)
	}
}

// signedIn returns ev carrying the session cookie token.
func signedIn(ev events.APIGatewayV2HTTPRequest, token string) events.APIGatewayV2HTTPRequest {
	ev.Cookies = slices.DeleteFunc(slices.Clone(ev.Cookies), func(c string) bool {
		return strings.HasPrefix(c, httpapi.SessionCookie+"=")
	})
	ev.Cookies = append(ev.Cookies, httpapi.SessionCookie+"="+token)
	return ev
}

// withHeader returns ev with header k set to v ("" removes it).
func withHeader(ev events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{}
	for name, val := range ev.Headers {
		if name != k {
			h[name] = val
		}
	}
	if v != "" {
		h[k] = v
	}
	ev.Headers = h
	return ev
}

// login signs the SPR in through login.json and returns the session token.
func (s *site) login() string {
	s.t.Helper()
	r := s.invoke("login", loadEvent(s.t, "login"))
	want(s.t, "login.json", r, http.StatusOK, "")
	c := r.cookie(httpapi.SessionCookie)
	if c == nil || c.Value == "" {
		s.t.Fatalf("login.json: no session cookie in %q", r.Cookies)
	}
	return c.Value
}

func TestFixturesThroughFunctions(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		var token string
		t.Run("Login", func(t *testing.T) {
			r := s.invoke("login", loadEvent(t, "login"))
			want(t, "login.json", r, http.StatusOK, "")
			c := r.cookie(httpapi.SessionCookie)
			if c == nil || len(c.Value) < 22 || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Fatalf("session cookie %+v (Set-Cookie %q): want HttpOnly, Secure, SameSite=Strict, Path=/", c, r.Cookies)
			}
			if d := r.cookie(httpapi.DeviceCookie); d == nil || !d.Secure {
				t.Errorf("device cookie %+v, want a Secure one", d)
			}
			for k := range r.Headers {
				if strings.EqualFold(k, "Set-Cookie") {
					t.Errorf("Set-Cookie in headers: payload 2.0 answers cookies in the cookies field")
				}
			}
			user, _ := r.body["user"].(map[string]any)
			school, _ := r.body["school"].(map[string]any)
			if user["login"] != "spr" || school["uai"] != uai || r.body["mode"] != "admin" {
				t.Fatalf("session object %v", r.body)
			}
			token = c.Value
		})
		if token == "" {
			t.Fatal("no session")
		}
		t.Run("Session", func(t *testing.T) {
			r := s.invoke("seats", signedIn(loadEvent(t, "session"), token))
			want(t, "session.json", r, http.StatusOK, "")
			if user, _ := r.body["user"].(map[string]any); user["login"] != "spr" {
				t.Fatalf("session: %v", r.body)
			}
		})
		t.Run("Heartbeat", func(t *testing.T) {
			r := s.invoke("seats", signedIn(loadEvent(t, "heartbeat"), token))
			want(t, "heartbeat.json", r, http.StatusOK, "")
			if r.body["leaseSeconds"] != 180.0 || r.body["heartbeatSeconds"] != 60.0 {
				t.Fatalf("heartbeat: %v", r.body)
			}
		})
		t.Run("Authorize", func(t *testing.T) {
			r := s.invoke("authorize", signedIn(loadEvent(t, "authorize"), token))
			want(t, "authorize.json", r, http.StatusOK, "")
			if r.body["action"] != sesame.ActionSPRConnect || r.body["allowed"] != true {
				t.Fatalf("authorize: %v", r.body)
			}
		})
		t.Run("Permissions", func(t *testing.T) {
			r := s.invoke("authorize", loadEvent(t, "permissions"))
			want(t, "permissions.json", r, http.StatusOK, "")
			if len(r.list) < 97 {
				t.Fatalf("permissions: %d entries, want the catalogue (97 and more)", len(r.list))
			}
			if ct := r.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
		t.Run("OpenAPI", func(t *testing.T) {
			r := s.invoke("authorize", loadEvent(t, "openapi"))
			want(t, "openapi.json", r, http.StatusOK, "")
			if r.body["openapi"] == nil {
				t.Fatalf("openapi: %.200s", r.Body)
			}
		})
		t.Run("ConnectionsAndDisconnect", func(t *testing.T) {
			other := s.login() // a second SPR session, to be disconnected
			r := s.invoke("seats", signedIn(loadEvent(t, "connections"), token))
			want(t, "connections.json", r, http.StatusOK, "")
			var victim string
			conns, _ := r.body["connections"].([]any)
			for _, c := range conns {
				m := c.(map[string]any)
				if m["current"] == false {
					victim, _ = m["id"].(string)
				}
			}
			if len(conns) != 2 || victim == "" {
				t.Fatalf("connections: %v, want the two SPR sessions", r.body)
			}
			ev := signedIn(loadEvent(t, "disconnect"), token)
			ev.RawPath = httpapi.Prefix + "/connections/" + victim
			ev.RequestContext.HTTP.Path = ev.RawPath
			ev.PathParameters = map[string]string{"id": victim}
			want(t, "disconnect.json", s.invoke("seats", ev), http.StatusNoContent, "")
			r = s.invoke("seats", signedIn(loadEvent(t, "session"), other))
			want(t, "session after disconnect", r, http.StatusUnauthorized, "unauthenticated")
			if e := r.body["error"].(map[string]any); e["reason"] != string(sesame.ReasonDisconnected) {
				t.Fatalf("reason %v, want disconnected", e["reason"])
			}
		})
		t.Run("Logout", func(t *testing.T) {
			r := s.invoke("seats", signedIn(loadEvent(t, "logout"), token))
			want(t, "logout.json", r, http.StatusNoContent, "")
			if c := r.cookie(httpapi.SessionCookie); c == nil || c.MaxAge >= 0 {
				t.Fatalf("logout: session cookie %+v, want it cleared", c)
			}
			want(t, "session after logout", s.invoke("seats", signedIn(loadEvent(t, "session"), token)), http.StatusUnauthorized, "unauthenticated")
		})
		t.Run("Logs", func(t *testing.T) {
			var lines int
			sc := bufio.NewScanner(bytes.NewReader(s.logs.Bytes()))
			for sc.Scan() {
				var l map[string]any
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("log line is not JSON: %s", sc.Text())
				}
				if l["message"] != "request" || l["timestamp"] == nil || l["level"] == nil || l["function"] == nil || l["requestId"] == nil {
					t.Errorf("log line lacks Lambda's JSON fields: %s", sc.Text())
				}
				lines++
			}
			if lines == 0 {
				t.Fatal("nothing logged")
			}
			out := s.logs.String()
			if strings.Contains(out, sprPass) || strings.Contains(out, token) {
				t.Fatal("a password or a session token in the logs")
			}
			if !strings.Contains(out, `"requestId":"ZkT3qgYJCGYEMzA="`) {
				t.Errorf("login.json's API Gateway request id is not in the logs:\n%s", out)
			}
		})
	})
}

// TestDirectAccessRefused: an event without CloudFront's secret (a call to
// the execute-api endpoint itself) is refused by every route.
func TestDirectAccessRefused(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		for _, file := range fixtures(t) {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			ev := loadEvent(t, name)
			function := functionOf(t, ev.RouteKey)
			want(t, name+" without secret", s.invoke(function, withHeader(ev, "x-origin-secret", "")), http.StatusForbidden, "direct_access")
			want(t, name+" with a wrong secret", s.invoke(function, withHeader(ev, "x-origin-secret", "devine")), http.StatusForbidden, "direct_access")
		}
	})
}

// TestOtherFunctionsRoutes: a function answers another function's route as
// an unknown one.
func TestOtherFunctionsRoutes(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		for _, file := range fixtures(t) {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			ev := loadEvent(t, name)
			own := functionOf(t, ev.RouteKey)
			for _, other := range functionNames() {
				if other != own {
					want(t, name+" to "+other, s.invoke(other, ev), http.StatusNotFound, "not_found")
				}
			}
		}
	})
}

// TestViewerAddress: sign-in failures are counted against the viewer's
// address from CloudFront-Viewer-Address, not against CloudFront's.
func TestViewerAddress(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		for _, tc := range []struct{ header, want string }{
			{viewerIP + ":51234", viewerIP},
			{"[2001:db8::7]:443", "2001:db8::7"},
		} {
			ev := withHeader(loadEvent(t, "login"), "cloudfront-viewer-address", tc.header)
			ev.Body = strings.Replace(ev.Body, sprPass, "mauvais-mot-de-passe", 1)
			want(t, "wrong password", s.invoke("login", ev), http.StatusUnauthorized, "invalid_credentials")
			if _, err := s.st.GetAttempts(t.Context(), sesame.AddressKey(uai, tc.want)); err != nil {
				t.Errorf("viewer %s: no failure counted for %s: %v", tc.header, tc.want, err)
			}
		}
		if _, err := s.st.GetAttempts(t.Context(), sesame.AddressKey(uai, edgeIP)); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("failures counted against CloudFront's address %s: %v", edgeIP, err)
		}
	})
}

func functionOf(t *testing.T, routeKey string) string {
	t.Helper()
	for _, r := range httpapi.Routes {
		if r.Method+" "+httpapi.Prefix+r.Path == routeKey {
			return r.Function
		}
	}
	t.Fatalf("routeKey %s is none of httpapi.Routes", routeKey)
	return ""
}
