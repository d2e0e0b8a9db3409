package sesame

import (
	"context"
	"strings"
)

// Administration of a base: users, admin groups, teacher and staff
// profiles, space settings, the journal and seat usage. Every use case
// resolves the caller's session and decides with Decide (through
// Principal.Can); the rules of who may change what are here, once:
//   - admin groups, and any account that is or becomes an administrative
//     user (or the SPR): spr.utilisateurs, the SPR alone;
//   - other accounts: ressources.creer-modifier-ressources (or the SPR);
//   - grants of teacher profiles: the SPR; of staff profiles: the SPR, or
//     ressources.modifier-profils-autorisations-personnels;
//   - every automatic-disconnection setting: spr.securite, the SPR alone;
//   - the journal: spr.journal; seat usage: spr.connexions.

// ActionEditResources is action 4, the right to create and edit accounts
// that are not administrative users.
const ActionEditResources = "ressources.creer-modifier-ressources"

// canAny returns the first allowed decision among slugs, or the denial of
// the first one.
func canAny(p Principal, slugs ...string) (Decision, bool) {
	first := Decision{}
	for i, s := range slugs {
		d := p.Can(s)
		if d.Allowed {
			return d, true
		}
		if i == 0 {
			first = d
		}
	}
	return first, false
}

// requireAny resolves token's session as the user's activity and checks
// that it may do one of slugs.
func (s *Service) requireAny(ctx context.Context, token string, slugs ...string) (Current, error) {
	return s.require(ctx, token, true, slugs...)
}

func forbid(p Principal, slugs ...string) error {
	if d, ok := canAny(p, slugs...); !ok {
		return &ForbiddenError{Decision: d}
	}
	return nil
}

type actorKey struct{}

// WithActor returns ctx naming login as who acts, for the journal of use
// cases that take no session (recovery).
func WithActor(ctx context.Context, login string) context.Context {
	return context.WithValue(ctx, actorKey{}, login)
}

func actorOf(ctx context.Context) string { a, _ := ctx.Value(actorKey{}).(string); return a }

// clip cuts s to n runes, marking the cut with "…": what a stranger typed
// (a refused login) is journalled, but not at any length.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
