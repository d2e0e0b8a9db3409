package sso_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/idp"
	"github.com/sesame-ecole/sesame/infra/sso"
)

func TestCASSignIn(t *testing.T) {
	ctx, srv := setup(t)
	c, cfg := newClient(), casConfig(srv)
	t0 := time.Now()
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	if !strings.HasPrefix(arr.URL.String(), flow.Service+"&ticket=") {
		t.Fatalf("came back to %s, want the service %s and a ticket", arr.URL, flow.Service)
	}
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CAS Begin, sign-in, Finish in %v", time.Since(t0).Round(time.Millisecond))
	if id.Protocol != sso.CAS || id.Subject != idp.User || first(id, "ent_profile") != "National_ENS" || first(id, "mail") != "paul.martin@ent.test" ||
		!strings.HasPrefix(id.AssertionID, "ST-") {
		t.Fatalf("identity = %+v", id)
	}

	// A ticket is single use: the guard refuses it without asking the
	// server; a process with another guard is refused by the server.
	_, err = finish(t, ctx, c, cfg, flow, arr)
	wantKind(t, err, sso.Replayed)
	_, err = finish(t, ctx, newClient(), cfg, flow, arr)
	wantKind(t, err, sso.Refused)
	if !strings.Contains(err.Error(), "INVALID_TICKET") {
		t.Fatalf("refused for another reason than a reused ticket")
	}
}

func TestCASIdentifyingAttribute(t *testing.T) {
	ctx, srv := setup(t)
	c, cfg := newClient(), casConfig(srv)
	cfg.IdentityAttribute = "mail"
	flow, arr := signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	id, err := finish(t, ctx, c, cfg, flow, arr)
	if err != nil || id.Subject != "paul.martin@ent.test" {
		t.Fatalf("subject %q, %v", id.Subject, err)
	}
	// An attribute the server does not send identifies no one.
	cfg.IdentityAttribute = "eduPersonPrincipalName"
	flow, arr = signIn(t, ctx, c, cfg, browser(srv), idp.User, idp.UserPassword)
	_, err = finish(t, ctx, c, cfg, flow, arr)
	wantKind(t, err, sso.Refused)
}

func TestCASRefusals(t *testing.T) {
	ctx, srv := setup(t)
	cfg := casConfig(srv)
	other := cfg
	other.CallbackURL = srv.Config.SPURL + "/cas/callback?school=0759999Z"
	cases := []refusal{
		{name: "ticket for another service", kind: sso.Refused, reason: "INVALID_SERVICE", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival {
			f.Service += "&x=1" // the service must match exactly
			return a
		}},
		{name: "forged ticket", kind: sso.Refused, reason: "INVALID_TICKET", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival {
			return withQuery(a, "ticket", "ST-forged")
		}},
		{name: "flow without service", reason: "no service", change: func(f *sso.Flow, a *idp.Arrival) *idp.Arrival { f.Service = ""; return a }},
		{name: "state", kind: sso.Refused, reason: "state", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival { return withQuery(a, "state", "forged") }},
		{name: "no ticket", kind: sso.Cancelled, reason: "no ticket", change: func(_ *sso.Flow, a *idp.Arrival) *idp.Arrival { return withQuery(a, "ticket", "") }},
		{name: "flow of another school", kind: sso.Refused, reason: "another provider", cfg: &other},
	}
	refuse(t, ctx, srv, cfg, cases)
}

func TestCASBrokenGuardRefuses(t *testing.T) {
	ctx, srv := setup(t)
	cfg := casConfig(srv)
	flow, arr := signIn(t, ctx, newClient(), cfg, browser(srv), idp.User, idp.UserPassword)
	broken := &sso.Client{HTTP: newClient().HTTP, Replay: brokenGuard{}}
	if _, err := finish(t, ctx, broken, cfg, flow, arr); !errors.Is(err, errStoreDown) || sso.KindOf(err) != "" {
		t.Fatalf("err = %v (kind %q), want the store's error and no kind", err, sso.KindOf(err))
	}
	// A client without a guard cannot finish at all.
	_, err := finish(t, ctx, &sso.Client{HTTP: newClient().HTTP}, cfg, flow, arr)
	wantKind(t, err, sso.Misconfigured)
}
