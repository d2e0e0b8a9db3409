package sso

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Kind classifies why a sign-in through a provider failed. The caller maps
// each kind to a stable code and a French message; the wrapped error says
// why, for the logs only (it may quote the provider).
type Kind string

const (
	// Unavailable: the provider could not be reached in time, or answered
	// with a server error (discovery, metadata, token, keys, validation).
	Unavailable Kind = "provider_unavailable"
	// Refused: the provider's answer or the callback failed a check: a bad
	// or missing signature (alg none included), another issuer, audience or
	// recipient, an expired assertion or token, a wrong InResponseTo, state
	// or nonce, a code or ticket the provider refused, a tampered or expired
	// flow, a flow begun with another provider.
	Refused Kind = "response_refused"
	// Replayed: a SAML assertion or a CAS ticket already used.
	Replayed Kind = "response_replayed"
	// Cancelled: the user gave up at the provider (OIDC access_denied, SAML
	// AuthnFailed or RequestDenied, a CAS callback without a ticket).
	Cancelled Kind = "cancelled"
	// Misconfigured: the [Config] is incomplete or inconsistent, or the
	// provider's metadata lacks what the protocol needs.
	Misconfigured Kind = "provider_misconfigured"
)

// Error makes a Kind usable as a target of errors.Is:
// errors.Is(err, sso.Replayed).
func (k Kind) Error() string { return string(k) }

// Error is what Begin, Finish, LogoutURL and Open return for a failure of a
// known kind. An error that is not an *Error (a failing [ReplayGuard], a
// cancelled context) is an internal error.
type Error struct {
	Kind     Kind
	Protocol Protocol
	Op       string // "begin", "finish", "logout", "open"
	Err      error  // the reason, for the logs
}

func (e *Error) Error() string {
	return fmt.Sprintf("sso: %s %s: %s: %v", e.Protocol, e.Op, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// KindOf returns the Kind of err, or "" when err is nil or not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func fail(kind Kind, p Protocol, op string, err error) error {
	return &Error{Kind: kind, Protocol: p, Op: op, Err: err}
}

func failf(kind Kind, p Protocol, op, format string, args ...any) error {
	return fail(kind, p, op, fmt.Errorf(format, args...))
}

// reachErr classifies an error met while calling the provider: a transport
// error or a deadline is Unavailable; the caller's own cancellation is
// returned as is (the user went away, nothing to tell them).
func reachErr(ctx context.Context, p Protocol, op, what string, err error) error {
	if ctx.Err() == context.Canceled {
		return fmt.Errorf("sso: %s %s: %s: %w", p, op, what, ctx.Err())
	}
	return fail(Unavailable, p, op, fmt.Errorf("%s: %w", what, err))
}

// isTransport reports whether err comes from reaching the server rather than
// from what it answered.
func isTransport(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
