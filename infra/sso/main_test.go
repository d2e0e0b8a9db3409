package sso_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
)

func TestMain(m *testing.M) {
	code := m.Run()
	idp.Shutdown()
	os.Exit(code)
}

const flowTimeout = 10 * time.Second

// memGuard is an in-memory ReplayGuard, for tests only: the stores keep
// the real one with a conditional write.
type memGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newGuard() *memGuard { return &memGuard{seen: map[string]time.Time{}} }

func (g *memGuard) Seen(_ context.Context, id string, until time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u, ok := g.seen[id]; ok && time.Now().Before(u) {
		return false, nil
	}
	g.seen[id] = until
	return true, nil
}

var _ sso.ReplayGuard = (*memGuard)(nil)

func newClient() *sso.Client {
	return &sso.Client{HTTP: &http.Client{Timeout: flowTimeout}, Replay: newGuard()}
}

func oidcConfig(srv *idp.Server) sso.Config {
	return sso.Config{Protocol: sso.OIDC, Issuer: srv.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		Scopes: []string{"openid", "profile", "email", "ent"}, CallbackURL: srv.Config.OIDCRedirectURI,
		PostLogoutURL: srv.Config.PostLogoutURI}
}

func samlConfig(srv *idp.Server) sso.Config {
	return sso.Config{Protocol: sso.SAML, SAMLMetadataURL: srv.SAMLMetadataURL(), SPEntityID: srv.Config.SAMLEntityID,
		CallbackURL: srv.Config.SAMLACS, PostLogoutURL: srv.Config.SAMLSLO}
}

func casConfig(srv *idp.Server) sso.Config {
	return sso.Config{Protocol: sso.CAS, CASBaseURL: srv.CASURL(), CallbackURL: srv.Config.SPURL + "/cas/callback?school=0751234A",
		PostLogoutURL: srv.Config.PostLogoutURI}
}

// allProtocols returns one configuration of each protocol for srv.
func allProtocols(srv *idp.Server) []sso.Config {
	return []sso.Config{oidcConfig(srv), samlConfig(srv), casConfig(srv)}
}

// setup returns the shared provider and a context bounding the test.
func setup(t testing.TB) (context.Context, *idp.Server) {
	t.Helper()
	srv := idp.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx, srv
}

// signIn begins a flow, keeps it through a sealed cookie value as the
// product will, signs in at the provider with a headless browser and returns
// the flow and how the browser came back.
func signIn(t testing.TB, ctx context.Context, c *sso.Client, cfg sso.Config, b *idp.Browser, user, password string) (sso.Flow, *idp.Arrival) {
	t.Helper()
	start, flow, err := c.Begin(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := sso.Seal(testKey, flow, time.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if flow, err = sso.Open(testKey, cookie, time.Now()); err != nil {
		t.Fatal(err)
	}
	arr, err := b.SignIn(ctx, start, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return flow, arr
}

func browser(srv *idp.Server) *idp.Browser { return idp.NewBrowser(srv.Config.SPURL, flowTimeout) }

// finish rebuilds the callback request from arr (each call gets a fresh
// one, as a replaying attacker would send) and finishes the flow.
func finish(t testing.TB, ctx context.Context, c *sso.Client, cfg sso.Config, flow sso.Flow, arr *idp.Arrival) (sso.Identity, error) {
	t.Helper()
	r, err := arr.Request(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c.Finish(ctx, cfg, flow, r)
}

// wantKind fails the test unless err is of kind k, and logs the reason.
func wantKind(t *testing.T, err error, k sso.Kind) {
	t.Helper()
	if sso.KindOf(err) != k {
		t.Fatalf("err = %v, want kind %s", err, k)
	}
	t.Logf("%s: %v", k, err)
}

// withQuery returns arr with one query parameter of its URL replaced.
func withQuery(arr *idp.Arrival, name, value string) *idp.Arrival {
	u := *arr.URL
	q := u.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	u.RawQuery = q.Encode()
	return &idp.Arrival{Method: arr.Method, URL: &u, Form: arr.Form}
}

// withForm returns arr with one posted field replaced.
func withForm(arr *idp.Arrival, name, value string) *idp.Arrival {
	f := url.Values{}
	for k, v := range arr.Form {
		f[k] = v
	}
	f.Set(name, value)
	return &idp.Arrival{Method: arr.Method, URL: arr.URL, Form: f}
}

// refusal is a sign-in changed on its way, and the refusal Finish must give.
type refusal struct {
	name   string
	reason string   // in the error
	kind   sso.Kind // default Refused
	// change alters the kept flow or the callback.
	change func(*sso.Flow, *idp.Arrival) *idp.Arrival
	// client finishes instead of the one that began (another clock or
	// transport).
	client *sso.Client
	// cfg is Finish's configuration instead of the one that began; with
	// sameFlow the flow is made to look begun with it, so that the refusal
	// must come from the provider's answer itself.
	cfg      *sso.Config
	sameFlow bool
	now      time.Duration // the finishing client's clock is this far ahead
}

// refuse signs in with cfg once per case, changes what the case says, and
// checks that Finish refuses it for the case's reason.
func refuse(t *testing.T, ctx context.Context, srv *idp.Server, cfg sso.Config, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient()
			flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
			if tc.change != nil {
				arr = tc.change(&flow, arr)
			}
			finishCfg := cfg
			if tc.cfg != nil {
				finishCfg = *tc.cfg
			}
			if tc.sameFlow {
				_, f2, err := c.Begin(ctx, finishCfg)
				if err != nil {
					t.Fatal(err)
				}
				flow.Provider = f2.Provider
			}
			if tc.client != nil {
				c = tc.client
			}
			if tc.now != 0 {
				c.Now = func() time.Time { return time.Now().Add(tc.now) }
			}
			_, err := finish(t, ctx, c, finishCfg, flow, arr)
			kind := tc.kind
			if kind == "" {
				kind = sso.Refused
			}
			wantKind(t, err, kind)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("refused for another reason than %q", tc.reason)
			}
		})
	}
}

// brokenGuard is a ReplayGuard whose store fails.
type brokenGuard struct{}

var errStoreDown = errors.New("store down")

func (brokenGuard) Seen(context.Context, string, time.Time) (bool, error) { return false, errStoreDown }
