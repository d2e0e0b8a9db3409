package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// shortID shortens a session ID (a token hash) for error contexts.
func shortID(id string) string { return id[:min(len(id), 12)] }

func sessionNotFound() error { return sesame.NotFound("La session") }

func sessionExists() error { return sesame.Exists("Cette session") }

// sessionEnded is the error for an ended session; its message gives the
// reason in French.
func sessionEnded(r sessionRec) error {
	return &sesame.Error{Code: sesame.CodeSessionEnded, Message: sesame.EndReason(r.EndReason).Message()}
}

func seatLost() error {
	return &sesame.Error{Code: sesame.CodeSeatLost, Message: sesame.ReasonSeatLost.Message()}
}

// indexValue is the value of an entry of a base's open-session index.
var indexValue = []byte{1}

// getSession loads session id.
func getSession(tx *bbolt.Tx, id string) (sessionRec, bool, error) {
	return cachedSession(tx, id, nil)
}

// cachedSession loads session id through d (nil: none).
func cachedSession(tx *bbolt.Tx, id string, d *decoded[sessionRec]) (sessionRec, bool, error) {
	var r sessionRec
	ok, err := d.load(tx.Bucket(bucketSessions), id, []byte(id), &r)
	return r, ok, err
}

// putSession writes session r and keeps its base's open-session index in
// step with it.
func putSession(tx *bbolt.Tx, r sessionRec) error {
	if err := store(tx.Bucket(bucketSessions), []byte(r.ID), r); err != nil {
		return err
	}
	bb := baseBucket(tx, sesame.BaseKey{UAI: sesame.UAI(r.UAI), Year: sesame.Year(r.Year)})
	if bb == nil {
		return nil
	}
	index := bb.Bucket(bucketOpenIndex)
	if r.EndReason == "" {
		return index.Put([]byte(r.ID), indexValue)
	}
	return index.Delete([]byte(r.ID))
}

// endSession ends the open session id, if it exists, with reason at now.
// It leaves the seats alone: the caller decides what becomes of the lease.
func endSession(tx *bbolt.Tx, id string, reason sesame.EndReason, now time.Time) error {
	r, ok, err := getSession(tx, id)
	if err != nil || !ok || r.EndReason != "" {
		return err
	}
	r.EndReason, r.EndedAt = string(reason), now.UTC()
	return putSession(tx, r)
}

// poolBucket returns the bucket of a pool's leases (login key → lease), or
// nil when it does not exist yet.
func poolBucket(bb *bbolt.Bucket, pool sesame.Pool) *bbolt.Bucket {
	return sub(sub(bb, bucketSeats), []byte(pool))
}

// putLease writes l in its pool's bucket, creating it when needed.
func putLease(bb *bbolt.Bucket, l sesame.Lease) error {
	pb, err := bb.Bucket(bucketSeats).CreateBucketIfNotExists([]byte(l.Pool))
	if err != nil {
		return err
	}
	return store(pb, []byte(l.Login), toLeaseRec(l))
}

// getLease returns the lease of login in pool bucket pb.
func getLease(pb *bbolt.Bucket, login string) (sesame.Lease, bool, error) {
	var r leaseRec
	ok, err := load(pb, []byte(login), &r)
	return r.domain(), ok, err
}

// poolLeases returns the leases of pool bucket pb that an admission under
// limit needs to see: all of them, except in an unlimited pool, where only
// the user's own lease matters (the count cannot refuse anybody).
func poolLeases(pb *bbolt.Bucket, login string, limit sesame.Limit) ([]sesame.Lease, error) {
	if limit == sesame.Unlimited {
		l, ok, err := getLease(pb, login)
		if err != nil || !ok {
			return nil, err
		}
		return []sesame.Lease{l}, nil
	}
	var ls []sesame.Lease
	err := forEachPrefix(pb, nil, func(k, v []byte) error {
		var r leaseRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("bolt: decode lease %q: %w", k, err)
		}
		ls = append(ls, r.domain())
		return nil
	})
	return ls, err
}

// held counts the seats pool pb holds just after login's admission, for
// the seat usage: the live leases of the others read for the decision,
// and login's own. An unlimited pool's decision reads no other lease, so
// there it counts the pool's lease items, lapsed ones included, as
// DynamoDB's COUNT does.
func held(pb *bbolt.Bucket, leases []sesame.Lease, login string, limit sesame.Limit, now time.Time) int {
	n := 1
	if limit == sesame.Unlimited {
		n = 0
		c := pb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return n
	}
	for _, l := range leases {
		if l.Login != login && l.Live(now) {
			n++
		}
	}
	return n
}

// admitAgain gives lease l back to its session when the pool admits it at
// now (checking the licence's version, and clearing the lapsed leases of
// others), and reports whether it did.
func admitAgain(bb, pb *bbolt.Bucket, l sesame.Lease, p sesame.SeatPolicy, now time.Time) (bool, error) {
	leases, err := poolLeases(pb, l.Login, p.Limit)
	if err != nil {
		return false, err
	}
	if _, admit := sesame.Admission(leases, l.Login, p.Limit, now); !admit {
		return false, nil
	}
	if err := checkLicense(bb, p); err != nil {
		return false, err
	}
	if err := reclaim(pb, leases, l.Login, now); err != nil {
		return false, err
	}
	return true, putLease(bb, l)
}

// reclaim deletes, from pool bucket pb, the leases of users other than
// login that have lapsed at now: an admission that counted them as free
// clears them, so that a heartbeat whose now was read earlier (a slow
// request) cannot bring one back and put the pool above its limit. Their
// sessions learn it at their next heartbeat, as newcomers.
func reclaim(pb *bbolt.Bucket, leases []sesame.Lease, login string, now time.Time) error {
	for _, l := range leases {
		if l.Login != login && !l.Live(now) && pb != nil {
			if err := pb.Delete([]byte(l.Login)); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdmitSession stores session sess, gives it its seat and writes w, in
// one transaction, shared with concurrent writes (see batch). The
// admission is decided by sesame.Admission over the pool's leases read
// inside that transaction.
func (s *Store) AdmitSession(ctx context.Context, sess sesame.Session, p sesame.SeatPolicy, w sesame.AdmissionWrites, now time.Time) (sesame.Lease, error) {
	var lease sesame.Lease
	err := s.batch(ctx, func(tx *bbolt.Tx) error {
		lease = sesame.Lease{} // a batch may run this again, alone
		if tx.Bucket(bucketSessions).Get([]byte(sess.ID)) != nil {
			return sessionExists()
		}
		bb, err := needBase(tx, sess.Base())
		if err != nil {
			return err
		}
		if sess.Pool != "" {
			login := sesame.LoginKey(sess.Login)
			leases, err := poolLeases(poolBucket(bb, sess.Pool), login, p.Limit)
			if err != nil {
				return err
			}
			own, admit := sesame.Admission(leases, login, p.Limit, now)
			if !admit {
				return sesame.Exhausted(sess.Pool, p.Limit, leases, now)
			}
			if own == nil {
				if err := checkLicense(bb, p); err != nil {
					return err
				}
				if err := reclaim(poolBucket(bb, sess.Pool), leases, login, now); err != nil {
					return err
				}
			}
			if own == nil { // a newcomer, perhaps with a lapsed lease of its own
				if i := slices.IndexFunc(leases, func(l sesame.Lease) bool { return l.Login == login }); i >= 0 {
					own = &leases[i]
				}
			}
			// The seat moves (or comes back) to the new session: the one
			// that held it is over.
			if own != nil {
				if err := endSession(tx, own.Session, sesame.ReasonReplaced, now); err != nil {
					return err
				}
			}
			lease = sesame.Lease{SeatKey: sesame.SeatKey{UAI: sess.UAI, Year: sess.Year, Pool: sess.Pool},
				Login: login, Session: sess.ID, AcquiredAt: now.UTC(), ExpiresAt: now.Add(p.Lease).UTC()}
			if err := putLease(bb, lease); err != nil {
				return err
			}
			lease.Held = held(poolBucket(bb, sess.Pool), leases, login, p.Limit, now)
		}
		if w.UsageDay != "" {
			n := sesame.UsageNote{Day: w.UsageDay, Pool: sess.Pool, Held: lease.Held}
			if sess.Pool == "" {
				n = sesame.UsageNote{Day: w.UsageDay, Pool: sess.EntryPool(), SignIns: 1}
			}
			if err := noteUsage(tx, sess.Base(), n); err != nil {
				return err
			}
		}
		if err := admitted(tx, sess.Base(), w); err != nil {
			return err
		}
		return putSession(tx, toSessionRec(sess))
	})
	if err != nil {
		return sesame.Lease{}, fmt.Errorf("open session %s in %s: %w", shortID(sess.ID), sess.Base(), err)
	}
	return lease, nil
}

// checkLicense refuses an admission when the base's record is no longer
// at the version the policy's limit was read from.
func checkLicense(bb *bbolt.Bucket, p sesame.SeatPolicy) error {
	if p.LicenseVersion == 0 {
		return nil
	}
	var r baseRec
	if _, err := load(bb, keyMeta, &r); err != nil {
		return err
	}
	if r.Version != p.LicenseVersion {
		return sesame.ErrLicenseChanged
	}
	return nil
}

// GetSession returns session id, open or ended.
func (s *Store) GetSession(ctx context.Context, id string) (sesame.Session, error) {
	var r sessionRec
	err := s.viewSettled(ctx, id, func(tx *bbolt.Tx) error {
		var ok bool
		var err error
		r, ok, err = getSession(tx, id)
		if err == nil && !ok {
			err = sessionNotFound()
		}
		return err
	})
	if err != nil {
		return sesame.Session{}, fmt.Errorf("get session %s: %w", shortID(id), err)
	}
	return r.domain(), nil
}

// ReadSession reads session id and, when it is open, its user, base and
// space's setting, in one read transaction.
func (s *Store) ReadSession(ctx context.Context, id string, _ sesame.SessionNear) (sesame.SessionRead, error) {
	var (
		sr    sessionRec
		found bool
		br    baseRec
		ur    userRec
		pr    profileRec
		hasU  bool
		hasP  bool
	)
	err := s.viewSettled(ctx, id, func(tx *bbolt.Tx) (err error) {
		if sr, found, err = cachedSession(tx, id, s.sessions); err != nil || !found || sr.EndReason != "" {
			return err
		}
		x := sr.domain()
		bb, err := needBase(tx, x.Base())
		if err != nil {
			return err
		}
		base := string(baseKey(x.Base())) + "\x00"
		if _, err = s.bases.load(bb, base, keyMeta, &br); err != nil {
			return err
		}
		login := sesame.LoginKey(x.Login)
		if hasU, err = s.users.load(bb.Bucket(bucketUsers), base+login, []byte(login), &ur); err != nil {
			return err
		}
		// The profile the user names now, read in the same transaction.
		if space := sesame.IdleProfileFor(ur.domain(), x.Mode); space != "" {
			hasP, err = s.profiles.load(bb.Bucket(bucketProfiles), base+space, []byte(space), &pr)
			pr.Grants = slices.Clone(pr.Grants) // the cache's own stays as it is
		}
		return err
	})
	switch {
	case err == nil && !found:
		err = sessionNotFound()
	case err == nil && sr.EndReason != "":
		return sesame.SessionRead{Session: sr.domain()}, nil
	}
	if err != nil {
		r := sesame.SessionRead{}
		if found {
			r.Session = sr.domain()
		}
		return r, fmt.Errorf("read session %s: %w", shortID(id), err)
	}
	r := sesame.SessionRead{Session: sr.domain(), Base: br.domain()}
	if hasU {
		u := ur.domain()
		r.User = &u
	}
	if hasP {
		p := pr.domain()
		r.Profile = &p
	}
	return r, nil
}

// TouchSession stores the activity of open session sess.ID.
func (s *Store) TouchSession(ctx context.Context, sess sesame.Session) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		_, err := touch(tx, sess, s.sessions)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session %s: %w", shortID(sess.ID), err)
	}
	return nil
}

// openRecord reads session id, which must be open, through d (nil: no
// cache).
func openRecord(tx *bbolt.Tx, id string, d *decoded[sessionRec]) (sessionRec, error) {
	r, ok, err := cachedSession(tx, id, d)
	if err == nil && !ok {
		err = sessionNotFound()
	} else if err == nil && r.EndReason != "" {
		err = sessionEnded(r)
	}
	return r, err
}

// touch is TouchSession inside transaction tx. It returns the session's
// record as written.
func touch(tx *bbolt.Tx, sess sesame.Session, d *decoded[sessionRec]) (sessionRec, error) {
	r, err := openRecord(tx, sess.ID, d)
	if err != nil {
		return r, err
	}
	r.LastActivity, r.LastSeen = sess.LastActivity.UTC(), sess.LastSeen.UTC()
	r.IdleOn, r.IdleAfter, r.IdleUntil = sess.Idle.Enabled, sess.Idle.After, sess.IdleUntil.UTC()
	return r, d.store(tx.Bucket(bucketSessions), r.ID, []byte(r.ID), r)
}

// BeatStamped applies a heartbeat under the idle setting stamped on
// session id, judged by sesame.Session.Heartbeat itself, and extends its
// live lease, in one write transaction shared with concurrent writes (no
// read of the user, base or profile). Where it does not apply it writes
// nothing and returns sesame.ErrNotStamped. It answers once it has run in
// the write transaction, before that transaction's commit ends (beat; the
// transaction may be held open a moment for more heartbeats): every later
// write runs after that commit, and every read of the session, of the
// sessions or of the leases waits for it, so whoever learns of the
// heartbeat sees it. A commit that fails after the answer loses the
// renewal, which is harmless: the lease only lapses early (see group).
func (s *Store) BeatStamped(ctx context.Context, id string, idle time.Duration, p sesame.SeatPolicy, now time.Time) (sesame.Session, error) {
	// apply is the heartbeat in tx: the session as stored, and whether it
	// applied.
	apply := func(tx *bbolt.Tx) (sesame.Session, bool, error) {
		r, ok, err := cachedSession(tx, id, s.sessions)
		if err != nil || !ok || r.EndReason != "" {
			return sesame.Session{}, false, err
		}
		x := r.domain()
		if !x.Stamped(now) || x.Heartbeat(now, idle, x.Idle) != "" {
			return sesame.Session{}, false, nil
		}
		if x.Pool != "" {
			// The lease's last decoding is kept under the session's ID:
			// its previous heartbeat wrote it.
			pb := poolBucket(baseBucket(tx, x.Base()), x.Pool)
			login := []byte(sesame.LoginKey(x.Login))
			var lr leaseRec
			has, err := s.leases.load(pb, id, login, &lr)
			l := lr.domain()
			if err != nil || !has || l.Session != id || !l.Live(now) {
				return sesame.Session{}, false, err // lapsed, lost or moved: RenewSeat's business
			}
			l.ExpiresAt = now.Add(p.Lease).UTC()
			if err := s.leases.store(pb, id, login, toLeaseRec(l)); err != nil {
				return sesame.Session{}, false, err
			}
		}
		return x, true, s.sessions.store(tx.Bucket(bucketSessions), id, []byte(id), toSessionRec(x))
	}
	var out sesame.Session
	applied := false
	err := s.beat(ctx, id, func(tx *bbolt.Tx) (err error) {
		out, applied, err = apply(tx) // a batch may run this again, alone
		return err
	}, func(tx *bbolt.Tx) error {
		_, _, err := apply(tx) // run again after its answer, which stands
		return err
	})
	if err == nil && !applied {
		err = sesame.ErrNotStamped
	}
	if err != nil {
		return sesame.Session{}, fmt.Errorf("heartbeat of session %s: %w", shortID(id), err)
	}
	return out, nil
}

// UnstampSession removes the stamp of session id's idle setting.
func (s *Store) UnstampSession(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		r, ok, err := cachedSession(tx, id, s.sessions)
		switch {
		case err != nil:
			return err
		case !ok:
			return sessionNotFound()
		case r.IdleUntil.IsZero():
			return nil
		}
		r.IdleOn, r.IdleAfter, r.IdleUntil = false, 0, time.Time{}
		return s.sessions.store(tx.Bucket(bucketSessions), id, []byte(id), r)
	})
	if err != nil {
		return fmt.Errorf("unstamp session %s: %w", shortID(id), err)
	}
	return nil
}

// RenewSeat extends the lease of open session id, takes a lapsed one again
// when the pool admits it, or ends the session as seat_lost.
func (s *Store) RenewSeat(ctx context.Context, id string, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	var r renewal
	err := s.update(ctx, func(tx *bbolt.Tx) (err error) {
		r, err = renew(tx, id, p, now)
		return err
	})
	if err == nil && r.lost {
		err = seatLost()
	}
	if err != nil {
		return sesame.Lease{}, fmt.Errorf("renew seat of session %s: %w", shortID(id), err)
	}
	return r.lease, nil
}

// BeatSession stores the activity of open session sess.ID and renews its
// seat as RenewSeat does, in one write transaction that bbolt shares with
// concurrent heartbeats' (one commit and one sync for all).
func (s *Store) BeatSession(ctx context.Context, sess sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	var r renewal
	err := s.batch(ctx, func(tx *bbolt.Tx) (err error) {
		r = renewal{} // a batch may run this again, alone
		rec, err := touch(tx, sess, s.sessions)
		if err != nil {
			return err
		}
		r, err = renewOpen(tx, rec, p, now)
		return err
	})
	if err == nil && r.lost {
		err = seatLost()
	}
	if err != nil {
		return sesame.Lease{}, fmt.Errorf("heartbeat of session %s: %w", shortID(sess.ID), err)
	}
	return r.lease, nil
}

// renewal is what renew did: the lease as renewed, or the session ended
// because its seat was lost (committed with the transaction).
type renewal struct {
	lease sesame.Lease
	lost  bool
}

// renew is RenewSeat inside transaction tx.
func renew(tx *bbolt.Tx, id string, p sesame.SeatPolicy, now time.Time) (renewal, error) {
	r, err := openRecord(tx, id, nil)
	if err != nil {
		return renewal{}, err
	}
	return renewOpen(tx, r, p, now)
}

// renewOpen is renew of open session r, read in transaction tx.
func renewOpen(tx *bbolt.Tx, r sessionRec, p sesame.SeatPolicy, now time.Time) (renewal, error) {
	if r.Pool == "" {
		return renewal{}, nil
	}
	id := r.ID
	sess := r.domain()
	bb := baseBucket(tx, sess.Base())
	pb := poolBucket(bb, sess.Pool)
	login := sesame.LoginKey(sess.Login)
	cur, has, err := getLease(pb, login)
	if err != nil {
		return renewal{}, err
	}
	if has && cur.Session == id && cur.Live(now) {
		cur.ExpiresAt = now.Add(p.Lease).UTC()
		return renewal{lease: cur}, putLease(bb, cur)
	}
	if !has || cur.Session == id {
		// Lapsed but still ours, or cleared after its lapse to make
		// room: a newcomer again, counted against the other live
		// holders.
		l := sesame.Lease{SeatKey: sesame.SeatKey{UAI: sess.UAI, Year: sess.Year, Pool: sess.Pool},
			Login: login, Session: id, AcquiredAt: now.UTC(), ExpiresAt: now.Add(p.Lease).UTC()}
		admitted, err := admitAgain(bb, pb, l, p, now)
		if admitted || err != nil {
			return renewal{lease: l}, err
		}
		if has {
			if err := pb.Delete([]byte(login)); err != nil {
				return renewal{}, err
			}
		}
	}
	// The seat is gone (taken by a newer session of the user, or lapsed
	// in a full pool): the session is over. This is committed, and the
	// caller gets ErrSeatLost.
	return renewal{lost: true}, endSession(tx, id, sesame.ReasonSeatLost, now)
}

// EndSession ends open session id with reason r and frees its seat.
func (s *Store) EndSession(ctx context.Context, id string, reason sesame.EndReason, now time.Time) (sesame.Session, error) {
	if reason == "" {
		return sesame.Session{}, fmt.Errorf("end session %s: %w", shortID(id),
			sesame.Invalid("reason", "La raison de la fin de session est manquante."))
	}
	var out sessionRec
	already := false
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		r, ok, err := getSession(tx, id)
		switch {
		case err != nil:
			return err
		case !ok:
			return sessionNotFound()
		case r.EndReason != "":
			out, already = r, true
			return nil
		}
		r.EndReason, r.EndedAt = string(reason), now.UTC()
		if err := putSession(tx, r); err != nil {
			return err
		}
		out = r
		if r.Pool == "" {
			return nil
		}
		sess := r.domain()
		pb := poolBucket(baseBucket(tx, sess.Base()), sess.Pool)
		login := sesame.LoginKey(sess.Login)
		cur, has, err := getLease(pb, login)
		if err != nil || !has || cur.Session != id {
			return err // not ours any more: the seat is someone else's
		}
		return pb.Delete([]byte(login))
	})
	if err == nil && already {
		return out.domain(), fmt.Errorf("end session %s: %w", shortID(id), sessionEnded(out))
	}
	if err != nil {
		return sesame.Session{}, fmt.Errorf("end session %s: %w", shortID(id), err)
	}
	return out.domain(), nil
}

// ListSessions returns the base's open sessions, oldest first, from the
// base's index of open sessions.
func (s *Store) ListSessions(ctx context.Context, k sesame.BaseKey) ([]sesame.Session, error) {
	out := []sesame.Session{}
	err := s.viewSettled(ctx, anySession, func(tx *bbolt.Tx) error {
		index, err := baseSub(tx, k, bucketOpenIndex)
		if err != nil {
			return err
		}
		c := index.Cursor()
		for id, _ := c.First(); id != nil; id, _ = c.Next() {
			r, ok, err := getSession(tx, string(id))
			if err != nil {
				return err
			}
			if ok && r.EndReason == "" {
				out = append(out, r.domain())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", k, err)
	}
	slices.SortFunc(out, func(a, b sesame.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListLeases returns the base's live leases at now, by pool (in the order
// of sesame.Pools, unknown pools after them by name) then login.
func (s *Store) ListLeases(ctx context.Context, k sesame.BaseKey, now time.Time) ([]sesame.Lease, error) {
	out := []sesame.Lease{}
	err := s.viewSettled(ctx, anySession, func(tx *bbolt.Tx) error {
		seats, err := baseSub(tx, k, bucketSeats)
		if err != nil {
			return err
		}
		var pools []sesame.Pool
		c := seats.Cursor()
		for name, v := c.First(); name != nil; name, v = c.Next() {
			if v == nil {
				pools = append(pools, sesame.Pool(name))
			}
		}
		rank := func(p sesame.Pool) int {
			if i := slices.Index(sesame.Pools, p); i >= 0 {
				return i
			}
			return len(sesame.Pools)
		}
		slices.SortStableFunc(pools, func(a, b sesame.Pool) int { return rank(a) - rank(b) })
		for _, p := range pools {
			err := forEachPrefix(seats.Bucket([]byte(p)), nil, func(key, v []byte) error {
				var r leaseRec
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("bolt: decode lease %q: %w", key, err)
				}
				if l := r.domain(); l.Live(now) {
					out = append(out, l)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list leases of %s: %w", k, err)
	}
	return out, nil
}
