package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/sesame-ecole/sesame/infra/sso"
)

// A provider that goes away mid-flow gives the relying party an error at
// once, never a hang; and stopping it leaves neither process nor folder.
func TestProviderStoppedMidFlow(t *testing.T) {
	srv := New(t, Config{SPURL: DefaultSPURL})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), srv.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(srv.Config.SPURL, 2*time.Second)
	b.BeforeCredentials = srv.Stop // the user sees the login form, then the provider is gone
	start := provider.Endpoint().AuthURL + "?" + url.Values{"response_type": {"code"}, "client_id": {ClientID},
		"scope": {"openid"}, "redirect_uri": {srv.Config.OIDCRedirectURI}, "state": {"s"}}.Encode()
	_, err = b.SignIn(ctx, start, User, UserPassword)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("sign-in with the provider stopped: err = %v, want a refused connection", err)
	}
	t.Logf("sign-in: %v", err)

	// The server-to-server calls of the three protocols fail the same way.
	if _, err := oidc.NewProvider(oidc.ClientContext(ctx, client), srv.Issuer()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("OIDC discovery: err = %v, want a refused connection", err)
	}
	if err := casValidate(ctx, client, srv, "ST-1"); !errors.Is(err, syscall.ECONNREFUSED) || sso.KindOf(err) != sso.Unavailable {
		t.Errorf("CAS validation: err = %v, want a refused connection, unavailable", err)
	}
	if _, err := os.Stat(srv.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance folder %s left behind: %v", filepath.Base(srv.state), err)
	}
	if exited, _ := srv.proc.Exited(); !exited {
		t.Error("the provider's process is still running")
	}
}

func TestParseFormsKeepsWhatABrowserPosts(t *testing.T) {
	page := `<form action="/x?a=1&amp;b=2" method="post"><input type="hidden" name="url" value="aHR0cA==">
<input name="user" type="text"><input type='password' name='password'><input type="checkbox" name="remember">
<input type="checkbox" name="stay" checked><button type="submit" name="go" value="1">OK</button></form>
<form action="https://sp/acs"><input type="hidden" name="SAMLResponse" value="PD94&#43;"/></form>`
	forms := parseForms(page)
	if len(forms) != 2 {
		t.Fatalf("%d forms, want 2", len(forms))
	}
	f := forms[0]
	if f.action != "/x?a=1&b=2" || !f.hasPassword || f.values.Get("url") != "aHR0cA==" || f.values.Has("remember") || !f.values.Has("stay") || f.values.Has("go") {
		t.Errorf("login form = %+v", f)
	}
	if g := forms[1]; g.hasPassword || g.values.Get("SAMLResponse") != "PD94+" {
		t.Errorf("auto-submit form = %+v", g)
	}
}

func TestSignInWithAWrongPasswordIsRefused(t *testing.T) {
	srv := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := srv.CASURL() + "/login?" + url.Values{"service": {srv.Config.SPURL + "/cas/callback"}}.Encode()
	arr, err := NewBrowser(srv.Config.SPURL, flowTimeout).SignIn(ctx, start, User, "not-the-password")
	if err == nil {
		t.Fatalf("a wrong password arrived at %s", arr.URL)
	}
	t.Logf("refused: %v", err)
}

// A provider that stops answering (frozen, as a saturated or partitioned
// server) gives a timeout error bounded by the client's timeout.
func TestProviderFrozenMidFlowTimesOut(t *testing.T) {
	srv := New(t, Config{SPURL: DefaultSPURL})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid := srv.cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	b := NewBrowser(srv.Config.SPURL, time.Second)
	b.BeforeCredentials = func() {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	start := srv.CASURL() + "/login?" + url.Values{"service": {srv.Config.SPURL + "/cas/callback"}}.Encode()
	_, err := b.SignIn(ctx, start, User, UserPassword)
	var nerr interface{ Timeout() bool }
	if !errors.As(err, &nerr) || !nerr.Timeout() || ctx.Err() != nil {
		t.Fatalf("sign-in with the provider frozen: err = %v, want the client's timeout", err)
	}
	t.Logf("sign-in: %v", err)
	err = casValidate(ctx, &http.Client{Timeout: time.Second}, srv, "ST-1")
	if !errors.As(err, &nerr) || !nerr.Timeout() || ctx.Err() != nil || sso.KindOf(err) != sso.Unavailable {
		t.Fatalf("CAS validation with the provider frozen: err = %v, want the client's timeout", err)
	}
}
