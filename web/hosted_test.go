package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/hostedlocal"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/web"
)

// hostedPrefix names the subtests of TestHosted: a journey started under
// it runs against the hosted deployment instead of `sesame serve`'s
// handler (newStackWith and newAgentStack ask onHosted).
const hostedPrefix = "TestHosted/"

// onHosted says whether the test runs against the hosted deployment.
func onHosted(t testing.TB) bool { return strings.HasPrefix(t.Name(), hostedPrefix) }

// TestHosted runs the browser journeys against the hosted deployment, as
// `make run-hosted` starts it (infra/hostedlocal): the pages from the web
// bucket through CloudFront's page function, the API through the gateway
// to the functions' arm64 artifacts under RIE, DynamoDB Local, and the
// recovery page's upload straight to versitygw through the presigned URL.
// Each journey is the one that runs against `sesame serve`, on a stack of
// its own, one journey at a time. Skipped with -short.
func TestHosted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hosted stack for each journey; skipped with -short")
	}
	type journey struct {
		name string
		run  func(*testing.T)
	}
	journeys := []journey{
		{"SPRDisconnectsTeacher", TestSPRDisconnectsTeacher}, // sign-in, forced disconnection
		{"SPRRecoversUsers", TestSPRRecoversUsers},           // upload through the presigned URL, Préparer l'année suivante
		{"AgentIdleLogout", TestAgentIdleLogout},             // idle warning, logout, the seat freed
		{"AgentTabs", TestAgentTabs},                         // two tabs, one heartbeat stream, logout in one leaves both
	}
	for _, p := range ssoProtocols { // through a real LemonLDAP::NG, CAS's with a refusal
		journeys = append(journeys, journey{"SSOJourney" + p.name, func(t *testing.T) { t.Parallel(); ssoJourney(t, p) }})
	}
	for _, j := range journeys {
		// One journey at a time (each calls t.Parallel; t.Run waits for
		// it): a stack runs seven emulated functions, and the agent's
		// timings are short.
		t.Run(j.name, func(t *testing.T) { t.Run("journey", j.run) })
	}
}

// hostedOptions tune newHostedServer.
type hostedOptions struct {
	timing sesame.Timing
	// wrap, when set, stands in front of the gateway (the agent tests'
	// heartbeat log).
	wrap func(http.Handler) http.Handler
}

// newHostedServer starts the hosted stack on a table of the test's own
// in the shared DynamoDB Local, with the pages and the agent's build in
// the web bucket and the timing in the functions' environment, and
// returns the site's address and a service on the same table (for the
// test's own setup, with a fast hasher).
func newHostedServer(t testing.TB, o hostedOptions) (string, *sesame.Service) {
	t.Helper()
	if o.timing == (sesame.Timing{}) {
		o.timing = sesame.DefaultTiming
	}
	files, err := webFiles(agentBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := hostedlocal.Start(t.Context(), hostedlocal.Options{DynamoDB: dynamolocal.Endpoint(t), Table: dynamolocal.TableName(t),
		Web: files, Wrap: o.wrap, Warm: true, Env: []string{"SESAME_HEARTBEAT=" + o.timing.Heartbeat.String(), "SESAME_LEASE=" + o.timing.Lease.String(),
			"SESAME_ABSOLUTE=" + o.timing.Absolute.String(), "SESAME_WARNING=" + o.timing.Warning.String()}})
	if _, missing := err.(*hostedlocal.MissingError); missing {
		testenv.Require(t, "the hosted stack's components", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for id, logs := range st.Logs() {
				t.Logf("%s:\n%s", id, tail(logs, 20000))
			}
		}
		st.Stop()
	})
	store, err := core.OpenDynamo(t.Context(), st.DynamoDBClient(), st.Table, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := &sesame.Service{Store: store, Clock: sesame.SystemClock{}, Timing: o.timing,
		Hasher: password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})}
	url := strings.TrimSuffix(st.URL, "/")
	return url, svc
}

// webFiles is the web bucket's content: web/static with the agent's build
// under agent/, as `make agent` leaves it before `make deploy-web`.
func webFiles(agent fs.FS) (fs.FS, error) {
	m := fstest.MapFS{}
	for _, tree := range []struct {
		fsys   fs.FS
		prefix string
	}{{web.Static(), ""}, {agent, "agent/"}} {
		err := fs.WalkDir(tree.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(tree.fsys, p)
			m[tree.prefix+p] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// newHostedStack is newStackWith on the hosted deployment: the school
// created, the pages and the agent in the web bucket. The server's clock
// and the shortest automatic disconnection cannot be changed there.
func newHostedStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if _, system := o.clock.(sesame.SystemClock); !system || o.minIdle != 0 || o.hashing != nil {
		t.Fatal("the hosted deployment runs on the system clock, the product's minimum idle delay and its own hashing gate")
	}
	url, svc := newHostedServer(t, hostedOptions{timing: o.timing, wrap: o.wrap})
	if _, err := svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: uai, Name: o.name, Year: year, SPRPassword: sprPass}); err != nil {
		t.Fatalf("CreateSchool: %v", err)
	}
	s := &stack{url: url, svc: svc}
	if o.https {
		s.site = viewerTLS(t, url)
	}
	return s
}

// viewerTLS is CloudFront's end of TLS: the browser reaches the site at
// the address it returns, over HTTPS, and the request goes on to the
// hosted stack at site over plain HTTP with the viewer's Host, from which
// the functions (always on HTTPS in the cloud) tell a provider their
// address. Its certificate is httptest's, which the tests' Chromium
// accepts (viewerCertSPKI).
func viewerTLS(t *testing.T, site string) string {
	t.Helper()
	target, err := url.Parse(site)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}})
	front.StartTLS()
	t.Cleanup(front.Close)
	return front.URL
}

// viewerCertSPKI is the hash of the public key of viewerTLS's certificate,
// as Chromium's --ignore-certificate-errors-spki-list takes it.
var viewerCertSPKI = sync.OnceValue(func() string {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
})
