package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// site is the single server's whole handler (app.Handler: host check, API
// and pages) on a bbolt file, listening on 127.0.0.1, with a school whose
// SPR and teacher "prof" have the password pw.
type site struct {
	t    *testing.T
	srv  *httptest.Server
	port string
	log  *syncLog
	// always are headers every request carries (the origin secret).
	always map[string]string
}

// syncLog collects the server's log lines, written by its goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newSite(t *testing.T, cfg func(port string) httpapi.Config) *site {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
	if _, err := svc.CreateSchool(t.Context(), sesame.NewSchool{UAI: "0751234A", Name: "Collège", Year: "2026-2027", SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(t.Context(), sesame.NewUser{UAI: "0751234A", Year: "2026-2027", Login: "prof", Kind: "teacher",
		DisplayName: "M. Prof", Password: pw}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	s := &site{t: t, srv: srv, port: port, log: &syncLog{}}
	c := cfg(port)
	c.Logger = slog.New(slog.NewJSONHandler(s.log, nil))
	srv.Config.Handler = app.Handler(svc, c)
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

// send makes one request with the given Host and headers; it returns the
// answer's status, headers and body.
func (s *site) send(method, path, host string, hdr map[string]string, body any) (*http.Response, string) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Host = host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.always {
		req.Header.Set(k, v)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

var profSignIn = map[string]string{"school": "0751234A", "login": "prof", "password": pw, "mode": "teacher"}

// signIn signs prof in through host, from origin, with hdr; it returns the
// answer.
func (s *site) signIn(host, origin string, hdr map[string]string) (*http.Response, string) {
	s.t.Helper()
	h := map[string]string{"Origin": origin}
	for k, v := range hdr {
		h[k] = v
	}
	return s.send("POST", httpapi.Prefix+"/login", host, h, profSignIn)
}

// addresses lists the client addresses of prof's sign-ins, as the SPR
// reads them in the journal.
func (s *site) addresses() []string {
	s.t.Helper()
	local := "127.0.0.1:" + s.port
	res, _ := s.send("POST", httpapi.Prefix+"/login", local, map[string]string{"Origin": "http://" + local},
		map[string]string{"school": "0751234A", "login": "spr", "password": pw, "mode": "admin"})
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("SPR sign-in: %d", res.StatusCode)
	}
	var session string
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie {
			session = c.Value
		}
	}
	res, raw := s.send("GET", httpapi.Prefix+"/journal?login=prof", local, map[string]string{"Cookie": httpapi.SessionCookie + "=" + session}, nil)
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("journal: %d %s", res.StatusCode, raw)
	}
	var page struct {
		Entries []struct{ Event, Subject, Actor, Address string }
	}
	if err := json.Unmarshal([]byte(raw), &page); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range page.Entries {
		if (e.Actor == "prof" || e.Subject == "prof") && e.Event == string(sesame.EventLogin) {
			out = append(out, e.Address)
		}
	}
	return out
}

func localSite(port string) httpapi.Config {
	return httpapi.Config{PublicOrigins: httpapi.LocalOrigins("http", "127.0.0.1:"+port)}
}

// TestForeignHost: a host the server was not given is answered 421 before
// anything runs, on the API and on the pages; the localhost names are
// answered.
func TestForeignHost(t *testing.T) {
	s := newSite(t, localSite)
	res, raw := s.signIn("evil.example", "http://evil.example", nil)
	if res.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(raw, `"code":"misdirected_request"`) ||
		!strings.Contains(raw, "ne répond pas à ce nom d'hôte") {
		t.Fatalf("sign-in through a foreign host: %d %s", res.StatusCode, raw)
	}
	if len(res.Cookies()) != 0 {
		t.Fatalf("a refused host set cookies: %v", res.Cookies())
	}
	// The same port under another name is foreign too.
	if res, _ := s.signIn("sesame.example:"+s.port, "http://sesame.example:"+s.port, nil); res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("another name on the same port: %d", res.StatusCode)
	}
	page, text := s.send("GET", "/", "evil.example", nil, nil)
	if page.StatusCode != http.StatusMisdirectedRequest || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(text, "Ce serveur Sésame ne répond pas à ce nom d'hôte") {
		t.Fatalf("page through a foreign host: %d %q", page.StatusCode, text)
	}
	// Nothing ran: no request line of the API, no sign-in in the journal.
	if strings.Contains(s.log.String(), `"route":"/login"`) || !strings.Contains(s.log.String(), `"msg":"misdirected request"`) {
		t.Fatalf("log after refusals:\n%s", s.log.String())
	}
	if got := s.addresses(); len(got) != 0 {
		t.Fatalf("prof signed in through a foreign host: %v", got)
	}
	for _, host := range []string{"127.0.0.1:" + s.port, "localhost:" + s.port, "LOCALHOST:" + s.port, "[::1]:" + s.port} {
		if res, raw := s.signIn(host, "http://"+host, nil); res.StatusCode != http.StatusOK {
			t.Errorf("sign-in through %s: %d %s", host, res.StatusCode, raw)
		}
	}
	if res, _ := s.send("GET", "/", "localhost", nil, nil); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("localhost on port 80 answered: %d", res.StatusCode)
	}
}

// TestRebinding: a page of another site whose name points at this server
// is refused whether it sends its own Host or spoofs ours; an origin of
// ours other than the host is accepted.
func TestRebinding(t *testing.T) {
	s := newSite(t, localSite)
	local := "127.0.0.1:" + s.port
	for _, c := range []struct {
		what, host, origin string
		status             int
		code               string
	}{
		{"rebound page", "evil.example", "http://evil.example", http.StatusMisdirectedRequest, "misdirected_request"},
		{"rebound page, spoofed Host", local, "http://evil.example", http.StatusForbidden, "cross_site"},
		{"rebound page on our port, spoofed Host", local, "http://evil.example:" + s.port, http.StatusForbidden, "cross_site"},
		{"our host over https", local, "https://" + local, http.StatusForbidden, "cross_site"},
		{"origin with a path", local, "http://" + local + "/x", http.StatusForbidden, "cross_site"},
		{"another of our names", local, "http://localhost:" + s.port, http.StatusOK, ""},
	} {
		res, raw := s.signIn(c.host, c.origin, nil)
		if res.StatusCode != c.status || !strings.Contains(raw, c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.what, res.StatusCode, raw, c.status, c.code)
		}
	}
}

// TestForwardedHeaders: X-Forwarded-* are ignored from an untrusted peer
// and believed from a trusted proxy, whose X-Forwarded-For gives the
// client's address (the right-most hop that is not a trusted proxy).
func TestForwardedHeaders(t *testing.T) {
	const public = "sesame.example"
	cfg := func(trusted ...string) func(string) httpapi.Config {
		return func(port string) httpapi.Config {
			c := localSite(port)
			o, err := httpapi.ParseOrigin("https://" + public)
			if err != nil {
				t.Fatal(err)
			}
			c.PublicOrigins = append(c.PublicOrigins, o)
			for _, p := range trusted {
				pr, err := httpapi.ParseProxy(p)
				if err != nil {
					t.Fatal(err)
				}
				c.TrustedProxies = append(c.TrustedProxies, pr)
			}
			return c
		}
	}
	t.Run("Untrusted", func(t *testing.T) {
		s := newSite(t, cfg("10.0.0.0/8"))
		local := "127.0.0.1:" + s.port
		res, raw := s.signIn(local, "http://"+local, map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %d %s", res.StatusCode, raw)
		}
		if c := res.Cookies()[0]; c.Secure {
			t.Errorf("X-Forwarded-Proto from an untrusted peer made the cookie Secure: %+v", c)
		}
		if res, _ := s.signIn("evil.example", "https://"+public, map[string]string{"X-Forwarded-Host": public}); res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("X-Forwarded-Host from an untrusted peer was believed: %d", res.StatusCode)
		}
		if got := s.addresses(); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Fatalf("addresses %v, want the peer's", got)
		}
	})
	t.Run("Trusted", func(t *testing.T) {
		s := newSite(t, cfg("127.0.0.0/8", "10.0.0.0/8"))
		upstream := "127.0.0.1:" + s.port
		for _, xff := range []string{
			"203.0.113.7",
			"198.51.100.1, 203.0.113.7, 10.1.2.3", // a forged hop on the left, a trusted one on the right
			"not-an-address, 203.0.113.7:51234",   // garbage beyond the client, a port on its hop
			"::ffff:203.0.113.7",                  // IPv4 mapped
		} {
			res, raw := s.signIn(upstream, "https://"+public, map[string]string{"X-Forwarded-For": xff, "X-Forwarded-Host": public, "X-Forwarded-Proto": "https"})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("sign-in through the proxy (%s): %d %s", xff, res.StatusCode, raw)
			}
			if c := res.Cookies()[0]; !c.Secure {
				t.Errorf("cookie behind an HTTPS proxy: %+v", c)
			}
		}
		// A chain of trusted proxies only: the left-most is as far as it goes.
		res, _ := s.signIn(upstream, "https://"+public, map[string]string{"X-Forwarded-For": "10.9.9.9, 10.1.1.1", "X-Forwarded-Host": public})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in through two proxies: %d", res.StatusCode)
		}
		// The proxy's own X-Forwarded-Host decides the host: a foreign one
		// is refused even with our Host.
		if res, _ := s.signIn(upstream, "https://"+public, map[string]string{"X-Forwarded-Host": "evil.example"}); res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("foreign X-Forwarded-Host from a trusted proxy: %d", res.StatusCode)
		}
		got := s.addresses()
		want := []string{"10.9.9.9", "203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7"} // newest first
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("addresses %v, want %v", got, want)
		}
	})
}

// TestHTTPSPublicURL: behind a TLS-terminating proxy that is not declared,
// a request sent to an https public URL still gets a Secure cookie.
func TestHTTPSPublicURL(t *testing.T) {
	s := newSite(t, func(port string) httpapi.Config {
		o, err := httpapi.ParseOrigin("https://sesame.example/")
		if err != nil {
			t.Fatal(err)
		}
		return httpapi.Config{PublicOrigins: []httpapi.Origin{o}}
	})
	for _, host := range []string{"sesame.example", "sesame.example:443"} {
		res, raw := s.signIn(host, "https://sesame.example", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in through %s: %d %s", host, res.StatusCode, raw)
		}
		if c := res.Cookies()[0]; !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie for an https public URL: %+v", c)
		}
	}
	if res, _ := s.signIn("127.0.0.1:"+s.port, "https://sesame.example", nil); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("the listen address answered though only the public URL was given: %d", res.StatusCode)
	}
}

// TestBehindCloudFront: in the cloud, the origin secret vouches for
// CloudFront's X-Forwarded-Host and CloudFront-Viewer-Address, and
// cookies are always Secure.
func TestBehindCloudFront(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	s := newSite(t, func(string) httpapi.Config {
		return httpapi.Config{OriginSecret: secret, AddressHeader: "CloudFront-Viewer-Address", Secure: true}
	})
	const site = "d111111abcdef8.cloudfront.net"
	viewer := map[string]string{"X-Forwarded-Host": site, "CloudFront-Viewer-Address": "[2001:db8::7]:51234"}
	if res, raw := s.signIn("api.example", "https://"+site, viewer); res.StatusCode != http.StatusForbidden || !strings.Contains(raw, "direct_access") {
		t.Fatalf("without the origin secret: %d %s", res.StatusCode, raw)
	}
	s.always = map[string]string{"X-Origin-Secret": secret[:31] + "0"}
	if res, raw := s.signIn("api.example", "https://"+site, viewer); res.StatusCode != http.StatusForbidden || !strings.Contains(raw, "direct_access") {
		t.Fatalf("with a wrong origin secret: %d %s", res.StatusCode, raw)
	}
	s.always = map[string]string{"X-Origin-Secret": secret}
	res, raw := s.signIn("api.example", "https://"+site, viewer)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("through CloudFront: %d %s", res.StatusCode, raw)
	}
	if c := res.Cookies()[0]; !c.Secure {
		t.Errorf("cookie in the cloud: %+v", c)
	}
	if res, raw := s.signIn("api.example", "https://evil.example", viewer); res.StatusCode != http.StatusForbidden || !strings.Contains(raw, "cross_site") {
		t.Errorf("another site's page through CloudFront: %d %s", res.StatusCode, raw)
	}
	if got := s.addresses(); len(got) != 1 || got[0] != "2001:db8::7" {
		t.Fatalf("addresses %v, want the viewer's", got)
	}
}

func TestParseOriginAndProxy(t *testing.T) {
	for in, want := range map[string]string{
		"https://Sesame.Example":      "https://sesame.example",
		"https://sesame.example:443/": "https://sesame.example",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://[::1]:8080":           "http://[::1]:8080",
		"https://sesame.example:8443": "https://sesame.example:8443",
	} {
		o, err := httpapi.ParseOrigin(in)
		if err != nil || o.String() != want {
			t.Errorf("ParseOrigin(%q) = %v, %v; want %s", in, o, err, want)
		}
	}
	for _, in := range []string{"sesame.example", "ftp://sesame.example", "https://", "https://sesame.example/app",
		"https://sesame.example?x=1", "https://user@sesame.example", "http://sesame.example:0", "http://sesame.example:99999", "https://sesame.example#x"} {
		_, err := httpapi.ParseOrigin(in)
		var e *sesame.Error
		if !errors.As(err, &e) || e.Code != sesame.CodeInvalid || !strings.Contains(e.Message, "L'adresse publique « "+in+" » est incorrecte") {
			t.Errorf("ParseOrigin(%q): %v", in, err)
		}
	}
	for in, want := range map[string]string{"10.0.0.0/8": "10.0.0.0/8", "10.1.2.3/8": "10.0.0.0/8", "192.0.2.1": "192.0.2.1/32",
		"fd00::/8": "fd00::/8", "::1": "::1/128"} {
		p, err := httpapi.ParseProxy(in)
		if err != nil || p != netip.MustParsePrefix(want) {
			t.Errorf("ParseProxy(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"10.0.0.0/33", "proxy.example", "", "10.0.0.0/-1"} {
		if _, err := httpapi.ParseProxy(in); err == nil || !strings.Contains(err.Error(), "Le relais de confiance « "+in+" » est incorrect") {
			t.Errorf("ParseProxy(%q): %v", in, err)
		}
	}
	got := httpapi.LocalOrigins("https", "0.0.0.0:8443")
	if len(got) != 3 || got[0].String() != "https://localhost:8443" || got[2].String() != "https://[::1]:8443" {
		t.Errorf("LocalOrigins on 0.0.0.0: %v", got)
	}
}
