// Package sesame is the domain of Sésame: who may enter a school's base, in
// which mode, and for how long.
//
// It holds the rules of the product brief (a PRONOTE FAQ on user
// management) and nothing else: schools and their yearly bases, users,
// admin groups and authorization profiles (Profile), the licence and its
// seat pools, the permission catalogue and its one decision function
// (Decide), sessions, seat leases and the idleness rules, and the Store
// interface that infra/bolt and infra/dynamo implement. It imports the
// standard library only.
//
// A typical sign-in, as the HTTP API does it:
//
//	u, _ := store.GetUser(ctx, base, login)
//	g, _ := store.GetProfile(ctx, base, u.AdminGroup) // admin mode only
//	entry, err := sesame.Enter(u, &g, sesame.ModeAdmin, sesame.Modify, b.License)
//	s := sesame.NewSession(sesame.TokenID(token), base, u, entry, sesame.DefaultTiming, now)
//	lease, err := store.OpenSession(ctx, s, sesame.SeatPolicy{Limit: entry.Limit, Lease: 3 * time.Minute}, now)
//	// err matches sesame.ErrSeatsExhausted when the pool is full.
//
// and a permission check:
//
//	p := sesame.NewPrincipal(u, s.Mode, s.Access, g.Grants)
//	if d := p.Can("notes.saisir-notes"); !d.Allowed { … d.Reason, d.Message() … }
package sesame
