package sesame

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The session lifecycle: every request resolves its session through the
// same rules (absolute lifetime, idle limit, disabled account); heartbeats
// renew seats; logout ends a session.

// View is what a signed-in page knows of its session.
type View struct {
	Session     Session
	User        User
	School      School
	Seat        *Entry // nil when the session takes no seat
	Idle        IdleState
	Timing      Timing
	Permissions []string
	// Report is how often, at the least, the agent reports: every
	// heartbeat for a seat of a limited pool, which lapses without one;
	// every Timing.Report for a session without such a seat.
	Report time.Duration
}

// Current is the resolved session of a request.
type Current struct {
	Session   Session
	User      User
	Base      Base
	Principal Principal
	Idle      AutoDisconnect // the setting that applies
}

// Resolve finds the open session of token and applies the rules every
// request goes through: the absolute lifetime, the idle limit, a disabled
// account. A session found over is ended (its seat freed) and the request
// gets an *UnauthenticatedError with the reason. When activity is true the
// request counts as the user's activity; the agent's own calls do not.
func (s *Service) Resolve(ctx context.Context, token string, activity bool) (Current, error) {
	if k, ok := ctx.Value(operatorKey{}).(BaseKey); ok && token == "" {
		return s.operator(ctx, k)
	}
	if token == "" {
		return Current{}, &UnauthenticatedError{Reason: ReasonMissing}
	}
	now := s.now()
	read, err := s.Store.ReadSession(ctx, TokenID(token), SessionNearOf(token))
	sess := read.Session
	if errors.Is(err, ErrNotFound) && sess.ID == "" {
		return Current{}, &UnauthenticatedError{Reason: ReasonExpired}
	} else if err != nil {
		return Current{}, fmt.Errorf("resolve session: %w", err)
	}
	if !sess.Open() {
		return Current{}, &UnauthenticatedError{Reason: sess.EndReason}
	}
	if read.User == nil || !read.User.Enabled {
		return Current{}, s.end(ctx, sess.ID, ReasonDisconnected, now)
	}
	cur, err := s.current(ctx, sess, *read.User, read.Base, read.Profile)
	if err != nil {
		return Current{}, err
	}
	if r := cur.Session.Check(now, cur.Idle); r != "" {
		return Current{}, s.endIdle(ctx, sess, r, now, cur.Idle)
	}
	if activity {
		cur.Session.Touch(now, cur.Idle)
		cur.Session.Stamp(cur.Idle, now)
		if err := s.Store.TouchSession(ctx, cur.Session); err != nil {
			return Current{}, s.ended(ctx, sess.ID, err)
		}
	}
	return cur, nil
}

type operatorKey struct{}

// OperatorLogin names the operator in the journal: whoever runs the
// command line with the store's credentials.
const OperatorLogin = "sesame (ligne de commande)"

// AsOperator returns ctx acting as the operator of base k: the command
// line, run by whoever holds the store's credentials, administers a base
// with the SPR's rights and no session (use cases then take an empty
// token). Requests from the network never carry it.
func AsOperator(ctx context.Context, k BaseKey) context.Context {
	return context.WithValue(WithActor(ctx, OperatorLogin), operatorKey{}, k)
}

// operator is the Current of the operator of base k: the SPR's rights in
// admin mode, no session in the store.
func (s *Service) operator(ctx context.Context, k BaseKey) (Current, error) {
	base, err := s.Store.GetBase(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return Current{}, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
	} else if err != nil {
		return Current{}, fmt.Errorf("operator: %w", err)
	}
	u := User{Login: OperatorLogin, DisplayName: OperatorLogin, Kind: KindStaff, Supervisor: true, Enabled: true, AdminGroup: AdministrationID}
	sess := Session{UAI: k.UAI, Year: k.Year, Login: u.Login, DisplayName: u.DisplayName, Kind: KindStaff, Supervisor: true, Mode: ModeAdmin, Access: Modify}
	return Current{Session: sess, User: u, Base: base, Principal: NewPrincipal(u, ModeAdmin, Modify, nil)}, nil
}

// current assembles the session's principal and idle setting. read is a
// profile read already, used when it is the one that applies (nil: none).
func (s *Service) current(ctx context.Context, sess Session, u User, base Base, read *Profile) (Current, error) {
	idle, grants, err := s.setting(ctx, sess.Base(), u, sess.Mode, read)
	if err != nil {
		return Current{}, err
	}
	return currentOf(sess, u, base, idle, grants), nil
}

// currentOf is the Current of session sess of user u in base, under the
// setting idle and the profile's grants.
func currentOf(sess Session, u User, base Base, idle AutoDisconnect, grants []string) Current {
	return Current{Session: sess, User: u, Base: base, Idle: idle, Principal: NewPrincipal(u, sess.Mode, sess.Access, grants)}
}

// setting returns the automatic-disconnection setting and the grants that
// apply to user u in mode m of base k: those of the profile IdleProfileFor
// names, taken from read when it is that profile, otherwise read from the
// store; DefaultIdle and none without one.
func (s *Service) setting(ctx context.Context, k BaseKey, u User, m Mode, read *Profile) (AutoDisconnect, []string, error) {
	id := IdleProfileFor(u, m)
	switch {
	case id == "":
		return DefaultIdle, nil, nil
	case read != nil && read.ID == id:
		return read.AutoDisconnect, read.Grants, nil
	}
	p, err := s.Store.GetProfile(ctx, k, id)
	switch {
	case err == nil:
		return p.AutoDisconnect, p.Grants, nil
	case errors.Is(err, ErrNotFound):
		return DefaultIdle, nil, nil
	}
	return AutoDisconnect{}, nil, fmt.Errorf("profile %s: %w", id, err)
}

// end ends session id for reason r and returns the 401 to answer.
func (s *Service) end(ctx context.Context, id string, r EndReason, now time.Time) error {
	e, err := s.Store.EndSession(ctx, id, r, now)
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("end session: %w", err)
	}
	return &UnauthenticatedError{Reason: e.EndReason}
}

// endIdle is end, naming the idle limit when that is the reason, and
// writing the automatic disconnection to the journal.
func (s *Service) endIdle(ctx context.Context, sess Session, r EndReason, now time.Time, ad AutoDisconnect) error {
	e, err := s.Store.EndSession(ctx, sess.ID, r, now)
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		return fmt.Errorf("end session: %w", err)
	}
	ue := &UnauthenticatedError{Reason: e.EndReason}
	if err == nil && e.EndReason == ReasonIdleTimeout {
		s.journal(ctx, sess.Base(), JournalEntry{Event: EventIdleTimeout, Subject: sess.Login, Mode: sess.Mode, Pool: sess.EntryPool(),
			Reason: string(ReasonIdleTimeout), Detail: "Déconnexion automatique après " + FrenchDuration(ad.After) + " d'inactivité."})
	}
	if ue.Reason == ReasonIdleTimeout {
		ue.IdleTimeout = ad.After
	}
	return ue
}

// ended turns a store's ErrSessionEnded into the 401 with the stored reason.
func (s *Service) ended(ctx context.Context, id string, err error) error {
	if !errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
		return err
	}
	sess, gerr := s.Store.GetSession(ctx, id)
	if gerr != nil || sess.Open() {
		return &UnauthenticatedError{Reason: ReasonExpired}
	}
	return &UnauthenticatedError{Reason: sess.EndReason}
}

func (s *Service) view(cur Current, school School) View {
	v := View{Session: cur.Session, User: cur.User, School: school, Timing: s.Timing,
		Idle: IdleFor(cur.Idle, s.Timing), Permissions: cur.Principal.Allowed()}
	v.School.CurrentYear = cur.Session.Year
	if p := cur.Session.EntryPool(); p != "" {
		v.Seat = &Entry{Mode: cur.Session.Mode, Access: cur.Session.Access, Pool: p, Limit: cur.Base.License.Limit(p)}
	}
	v.Report = s.Timing.ReportEvery(cur.Session.Pool != "") // a lease to renew
	return v
}

// Session returns the view of token's session. It is the agent's call: it
// does not count as activity.
func (s *Service) Session(ctx context.Context, token string) (View, error) {
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return View{}, err
	}
	school, err := s.Store.GetSchool(ctx, cur.Session.UAI)
	if err != nil {
		return View{}, fmt.Errorf("session: %w", err)
	}
	return s.view(cur, school), nil
}

// HeartbeatResult is the answer to a heartbeat.
type HeartbeatResult struct {
	Timing        Timing
	IdleRemaining time.Duration
	Idle          IdleState
}

// Heartbeat applies the agent's report (how long the user has been idle)
// with the three steps of Session.Heartbeat, then renews the seat. A
// session found over is ended, its seat freed, and the answer is an
// *UnauthenticatedError with the reason.
//
// It first tries the store's fast path (Store.BeatStamped: one write, under
// the idle setting stamped on the session); whatever that path declines
// takes the full one below, which judges from what it reads and stamps the
// setting it read for the next heartbeats.
func (s *Service) Heartbeat(ctx context.Context, token string, idle time.Duration) (HeartbeatResult, error) {
	if token != "" {
		now := s.now()
		x, err := s.Store.BeatStamped(ctx, TokenID(token), idle, SeatPolicy{Lease: s.Timing.Lease}, now)
		if err == nil {
			return s.beaten(x, now), nil
		}
		if !errors.Is(err, ErrNotStamped) {
			return HeartbeatResult{}, fmt.Errorf("heartbeat: %w", err)
		}
	}
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return HeartbeatResult{}, err
	}
	now := s.now()
	sess := cur.Session
	if r := sess.Heartbeat(now, idle, cur.Idle); r != "" {
		return HeartbeatResult{}, s.endIdle(ctx, sess, r, now, cur.Idle)
	}
	sess.Stamp(cur.Idle, now)
	// The activity and the seat's renewal: one write where the store can.
	base := cur.Base
	for try := 0; ; try++ {
		var p SeatPolicy
		if sess.Pool != "" {
			p = SeatPolicy{Limit: base.License.Limit(sess.Pool), Lease: s.Timing.Lease, LicenseVersion: base.Version}
		}
		_, err := s.Store.BeatSession(ctx, sess, p, now)
		if err == nil {
			break
		}
		if errors.Is(err, ErrSeatLost) {
			s.journal(ctx, sess.Base(), JournalEntry{Event: EventSeatLost, Subject: sess.Login, Mode: sess.Mode, Pool: sess.Pool,
				Reason: string(ReasonSeatLost), Detail: ReasonSeatLost.Message()})
			return HeartbeatResult{}, &UnauthenticatedError{Reason: ReasonSeatLost}
		}
		if !errors.Is(err, ErrConflict) || try == 3 {
			return HeartbeatResult{}, s.ended(ctx, sess.ID, err)
		}
		// The licence changed meanwhile: decide again under the new one.
		if base, err = s.Store.GetBase(ctx, sess.Base()); err != nil {
			return HeartbeatResult{}, fmt.Errorf("heartbeat: %w", err)
		}
	}
	return s.beaten(sess, now), nil
}

// beaten is the answer to a heartbeat that left x as it is, under its
// stamped idle setting, at now.
func (s *Service) beaten(x Session, now time.Time) HeartbeatResult {
	return HeartbeatResult{Timing: s.Timing, IdleRemaining: x.IdleRemaining(now, x.Idle), Idle: IdleFor(x.Idle, s.Timing)}
}

// unstampUser removes the stamps that user before, changed into after,
// may have made wrong: those of its sessions in a mode whose idle
// setting now comes from another group or profile (IdleProfileFor).
func (s *Service) unstampUser(ctx context.Context, k BaseKey, before, after User) error {
	changed := func(m Mode) bool { return IdleProfileFor(before, m) != IdleProfileFor(after, m) }
	if !slices.ContainsFunc(Modes, changed) {
		return nil
	}
	login := LoginKey(after.Login)
	return s.unstamp(ctx, k, func(x Session) bool { return LoginKey(x.Login) == login && changed(x.Mode) })
}

// unstampProfile removes the stamps that profile before, changed into
// after, may have made wrong: those of its mode's sessions, when its
// automatic disconnection changed.
func (s *Service) unstampProfile(ctx context.Context, k BaseKey, before, after Profile) error {
	if after.AutoDisconnect == before.AutoDisconnect {
		return nil
	}
	return s.unstamp(ctx, k, func(x Session) bool { return x.Mode == after.Mode })
}

// unstamp removes the stamp of the idle setting from the open sessions of
// base k that match and bear one, once a change that may give them another
// setting has landed (a user's profile, a profile's automatic
// disconnection): their next heartbeat takes the full path and reads the
// setting that applies. A space's setting may concern every student's
// session: a few writes go at once.
func (s *Service) unstamp(ctx context.Context, k BaseKey, match func(Session) bool) error {
	sessions, err := s.Store.ListSessions(ctx, k)
	if err != nil {
		return fmt.Errorf("unstamp sessions: %w", err)
	}
	now := s.now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, 8)
	)
	for _, x := range sessions {
		if !match(x) || !x.Stamped(now) {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := s.Store.UnstampSession(ctx, x.ID); err != nil && !errors.Is(err, ErrNotFound) {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("unstamp sessions: %w", first)
	}
	return nil
}

// Logout ends token's session and frees its seat at once. Logging out of
// a session that is already over is no error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	e, err := s.Store.EndSession(ctx, TokenID(token), ReasonLoggedOut, s.now())
	if err != nil && !errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	if err == nil {
		s.journal(ctx, e.Base(), JournalEntry{Event: EventLogout, Actor: e.Login, Subject: e.Login, Mode: e.Mode, Pool: e.EntryPool(),
			Reason: string(ReasonLoggedOut), Detail: "Déconnexion."})
	}
	return nil
}

// Authorize decides an action for token's session. An unknown action is an
// unknown_action error.
func (s *Service) Authorize(ctx context.Context, token, action string) (Decision, error) {
	if err := CheckAction("action", action); err != nil {
		return Decision{}, err
	}
	cur, err := s.Resolve(ctx, token, false)
	if err != nil {
		return Decision{}, err
	}
	return cur.Principal.Can(action), nil
}

// Require resolves token's session as the user's own request and checks
// that it may do action; otherwise it returns a *ForbiddenError.
func (s *Service) Require(ctx context.Context, token, action string) (Current, error) {
	return s.require(ctx, token, true, action)
}

// require resolves token's session (as activity or not) and checks that
// it may do one of actions, the first one's denial being the answer
// otherwise.
func (s *Service) require(ctx context.Context, token string, activity bool, actions ...string) (Current, error) {
	cur, err := s.Resolve(ctx, token, activity)
	if err != nil {
		return Current{}, err
	}
	if err := forbid(cur.Principal, actions...); err != nil {
		return Current{}, err
	}
	return cur, nil
}
