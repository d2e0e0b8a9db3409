package sesame

import (
	"context"
	"errors"
	"fmt"
)

// Connected users: what the SPR sees of them, forced disconnections, and
// the sessions an edit ends.

// PoolUsage is a pool's use at one instant.
type PoolUsage struct {
	Pool  Pool
	Limit Limit
	Used  int
}

// Connections lists a base's pools and connected users.
type Connections struct {
	Pools    []PoolUsage
	Sessions []Session
	// Self is the ID of the caller's own session.
	Self string
}

// Connections returns the pools and the connected users of the SPR's base
// (action spr.connexions). A seat shows while its lease is live; a
// session without one while its agent's reports keep coming
// (Timing.Silence); both count in their pool's use. Reading the list is not activity: the page refreshes
// it on its own.
func (s *Service) Connections(ctx context.Context, token string) (Connections, error) {
	cur, err := s.require(ctx, token, false, ActionSPRConnect)
	if err != nil {
		return Connections{}, err
	}
	now := s.now()
	k := cur.Session.Base()
	leases, err := s.Store.ListLeases(ctx, k, now)
	if err != nil {
		return Connections{}, fmt.Errorf("connections: %w", err)
	}
	sessions, err := s.Store.ListSessions(ctx, k)
	if err != nil {
		return Connections{}, fmt.Errorf("connections: %w", err)
	}
	used := map[Pool]int{}
	held := map[string]bool{}
	for _, l := range leases {
		used[l.Pool]++
		held[l.Session] = true
	}
	c := Connections{Self: cur.Session.ID}
	for _, x := range sessions {
		// A seat is connected while its lease holds; a session without
		// one reports rarely (Timing.Report), so it is connected, and
		// counted in its pool, while its agent's last report is recent
		// enough.
		live := held[x.ID]
		if x.Pool == "" {
			live = now.Sub(x.LastSeen) <= s.Timing.Silence(false)
		}
		if !live || !now.Before(x.ExpiresAt) {
			continue
		}
		c.Sessions = append(c.Sessions, x)
		if x.Pool == "" && x.EntryPool() != "" {
			used[x.EntryPool()]++
		}
	}
	for _, p := range Pools {
		c.Pools = append(c.Pools, PoolUsage{Pool: p, Limit: cur.Base.License.Limit(p), Used: used[p]})
	}
	return c, nil
}

// Disconnect ends session id of the SPR's own base (reason disconnected)
// and frees its seat at once. A session of another base is not found.
func (s *Service) Disconnect(ctx context.Context, token, id string) error {
	cur, err := s.Require(ctx, token, ActionSPRConnect)
	if err != nil {
		return err
	}
	target, err := s.Store.GetSession(ctx, id)
	if err != nil || target.Base() != cur.Session.Base() {
		return NotFound("La connexion demandée")
	}
	_, err = s.Store.EndSession(ctx, id, ReasonDisconnected, s.now())
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("disconnect: %w", err)
	}
	if err == nil {
		s.journal(ctx, target.Base(), JournalEntry{Event: EventDisconnected, Actor: cur.User.Login, Subject: target.Login,
			Mode: target.Mode, Pool: target.EntryPool(), Reason: string(ReasonDisconnected), Detail: "Déconnexion forcée par le superviseur (SPR)."})
	}
	return nil
}

// endSessionsOf ends the open sessions of login in base k (in mode m
// only, when set), freeing their seats at once.
func (s *Service) endSessionsOf(ctx context.Context, k BaseKey, login string, m Mode) error {
	return s.endSessions(ctx, k, func(x Session) bool {
		return LoginKey(x.Login) == LoginKey(login) && (m == "" || x.Mode == m)
	})
}

// endSessions ends the open sessions of base k that match (reason
// disconnected), freeing their seats at once.
func (s *Service) endSessions(ctx context.Context, k BaseKey, match func(Session) bool) error {
	sessions, err := s.Store.ListSessions(ctx, k)
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	now := s.now()
	for _, x := range sessions {
		if !match(x) {
			continue
		}
		if _, err := s.Store.EndSession(ctx, x.ID, ReasonDisconnected, now); err != nil &&
			!errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("end session of %s: %w", x.Login, err)
		}
	}
	return nil
}

// endModificationOf ends the admin-mode sessions in modification of the
// members of group id.
func (s *Service) endModificationOf(ctx context.Context, k BaseKey, id string) error {
	members := map[string]bool{}
	for q := (UserQuery{Member: id, Limit: 1000}); ; {
		page, err := s.Store.ListUsers(ctx, k, q)
		if err != nil {
			return fmt.Errorf("members of %s: %w", id, err)
		}
		for _, u := range page.Users {
			if u.AdminGroup == id {
				members[u.Key()] = true
			}
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	return s.endSessions(ctx, k, func(x Session) bool {
		return x.Mode == ModeAdmin && x.Access == Modify && members[LoginKey(x.Login)]
	})
}
