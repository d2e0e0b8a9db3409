// Package sso signs people in through a school's identity provider: its ENT
// or EduConnect, by OpenID Connect, SAML 2.0 or CAS 3. It is the protocol
// layer only. It knows nothing of schools, users or sessions: the domain
// maps an [Identity] to an account, and the HTTP layer carries the flow.
//
// A sign-in is two requests, possibly served by two different processes
// (Lambda invocations), so the package keeps no state of its own:
//
//	c := &sso.Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Replay: store}
//
//	// 1. The sign-in page's "Se connecter avec l'ENT".
//	redirect, flow, err := c.Begin(ctx, cfg)
//	flow.Data = map[string]string{"uai": uai, "mode": mode}
//	cookie, err := sso.Seal(key, flow, now.Add(10*time.Minute))
//	// set the cookie (HttpOnly, Secure, short Max-Age), then redirect.
//	// SameSite=Lax suits OIDC and CAS, whose callbacks are top-level GETs;
//	// the SAML response is a cross-site POST, which carries only a
//	// SameSite=None (hence Secure) cookie, or let the ACS answer a
//	// cookie-less POST with a page that re-posts the form same-site
//
//	// 2. The callback (GET for OIDC and CAS, POST for SAML).
//	flow, err := sso.Open(key, cookie, now)
//	id, err := c.Finish(ctx, cfg, flow, r)
//	switch sso.KindOf(err) { case sso.Unavailable: …; case sso.Refused: …; case sso.Replayed: …; case sso.Cancelled: … }
//	// id.Subject is the value of cfg.IdentityAttribute: look up the linked user
//
// What Finish checks, per protocol:
//   - OIDC: state, authorization code with PKCE (S256), the ID token's
//     signature (asymmetric algorithms only: "none" and HS256 are refused),
//     issuer, audience, expiry, and the nonce.
//   - SAML (crewjam/saml): a signed response or signed assertions, issuer,
//     destination and recipient (the ACS), audience (the SP entity ID),
//     IssueInstant and NotOnOrAfter, InResponseTo (the request of this
//     flow), RelayState; the assertion ID is recorded in the [ReplayGuard].
//   - CAS: state, then the ticket recorded in the ReplayGuard, then
//     validated server to server (/p3/serviceValidate) for exactly the
//     service sent to /login.
//
// A flow is bound to the Config it was begun with: finishing it with another
// school's provider is refused. Every call to a provider goes through
// Client.HTTP, whose timeout turns a provider that is down or frozen into an
// Unavailable error.
//
// [Client.LogoutURL] ends the provider's session too, where it supports it.
// The tests run every flow against a real LemonLDAP::NG (infra/idp).
package sso
