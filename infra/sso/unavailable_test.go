package sso_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
)

// A provider stopped while the user is at its login page: each protocol's
// callback gives Unavailable at once (a refused connection), and so does a
// new sign-in.
func TestProviderStoppedMidFlow(t *testing.T) {
	srv := idp.New(t, idp.Config{SPURL: idp.DefaultSPURL})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient()
	type started struct {
		cfg  sso.Config
		flow sso.Flow
		arr  *idp.Arrival
	}
	var flows []started
	for _, cfg := range allProtocols(srv) {
		flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
		flows = append(flows, started{cfg, flow, arr})
	}
	srv.Stop()
	for _, f := range flows {
		t0 := time.Now()
		_, err := finish(t, ctx, c, f.cfg, f.flow, f.arr)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: err = %v, want a refused connection", f.cfg.Protocol, err)
		}
		wantKind(t, err, sso.Unavailable)
		t.Logf("%s callback: unavailable in %v", f.cfg.Protocol, time.Since(t0).Round(time.Microsecond))
		if f.cfg.Protocol != sso.CAS { // CAS begins without calling the server
			_, _, err = c.Begin(ctx, f.cfg)
			wantKind(t, err, sso.Unavailable)
		}
	}
}

// A provider that accepts connections and never answers (frozen, or behind
// a broken network) gives Unavailable after the client's timeout, not a
// hang.
func TestProviderNotAnsweringTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // keep them open, read nothing, answer nothing
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &sso.Client{HTTP: &http.Client{Timeout: 300 * time.Millisecond}, Replay: newGuard()}
	cfgs := []sso.Config{
		{Protocol: sso.OIDC, Issuer: base, ClientID: "c", ClientSecret: "s", CallbackURL: idp.DefaultSPURL + "/callback"},
		{Protocol: sso.SAML, SAMLMetadataURL: base + "/saml/metadata", SPEntityID: idp.DefaultSPURL + "/saml/metadata", CallbackURL: idp.DefaultSPURL + "/saml/acs"},
	}
	for _, cfg := range cfgs {
		_, _, err := c.Begin(ctx, cfg)
		var nerr net.Error
		if !errors.As(err, &nerr) || !nerr.Timeout() || ctx.Err() != nil {
			t.Errorf("%s begin: err = %v, want the client's timeout", cfg.Protocol, err)
		}
		wantKind(t, err, sso.Unavailable)
	}
	cas := sso.Config{Protocol: sso.CAS, CASBaseURL: base + "/cas", CallbackURL: idp.DefaultSPURL + "/cas/callback"}
	_, flow, err := c.Begin(ctx, cas)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, flow.Service+"&ticket=ST-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Finish(ctx, cas, flow, r)
	wantKind(t, err, sso.Unavailable)
}

// failPath fails the requests whose path ends with suffix: with a transport
// error, or with status when it is not zero.
type failPath struct {
	suffix string
	status int
}

func (f failPath) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, f.suffix) {
		return http.DefaultTransport.RoundTrip(req)
	}
	if f.status == 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: http.Header{},
		Body: http.NoBody, Request: req}, nil
}

// Each OIDC call of Finish after discovery failing on its own: the token
// endpoint down or answering 503, the signing keys out of reach. All are
// Unavailable, not a refusal of the user.
func TestOIDCProviderFailingDuringFinish(t *testing.T) {
	ctx, srv := setup(t)
	client := func(f failPath) *sso.Client {
		return &sso.Client{HTTP: &http.Client{Timeout: flowTimeout, Transport: f}}
	}
	refuse(t, ctx, srv, oidcConfig(srv), []refusal{
		{name: "token endpoint down", kind: sso.Unavailable, reason: "token exchange", client: client(failPath{suffix: "/oauth2/token"})},
		{name: "token endpoint 503", kind: sso.Unavailable, reason: "token exchange", client: client(failPath{suffix: "/oauth2/token", status: 503})},
		{name: "keys out of reach", kind: sso.Unavailable, reason: "signing keys", client: client(failPath{suffix: "/oauth2/jwks"})},
	})
}
