package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

func sessionName(id string) string {
	if len(id) > 8 {
		id = id[:8] + "…"
	}
	return "La session « " + id + " »"
}

func sessionKey(id string) map[string]types.AttributeValue { return key(sessionPK(id), skSession) }
func holderKey(k sesame.SeatKey, login string) map[string]types.AttributeValue {
	return key(seatsPK(k), prefixHolder+login)
}
func countKey(k sesame.SeatKey) map[string]types.AttributeValue { return key(seatsPK(k), skCount) }

// endedError is the error for a session that has already ended.
func endedError(x sesame.Session) error {
	return &sesame.Error{Code: sesame.CodeSessionEnded, Message: x.EndReason.Message()}
}

// seatLostError is the error of a renewal that lost its seat.
func seatLostError() error {
	return &sesame.Error{Code: sesame.CodeSeatLost, Message: sesame.ReasonSeatLost.Message()}
}

// closed reports whether a pool with limit l admits nobody.
func closed(l sesame.Limit) bool { return l != sesame.Unlimited && l <= 0 }

// Names used in expressions.
var (
	nSession    = expression.Name("session")
	nAcquiredAt = expression.Name("acquiredAt")
	nTTL        = expression.Name(attrTTL)
	nN          = expression.Name("n")
	nV          = expression.Name("v")
	nEndReason  = expression.Name("endReason")
	nEndedAt    = expression.Name("endedAt")
	nEndedBy    = expression.Name("endedBy")

	nLastActivity = expression.Name("lastActivity")
	nLastSeen     = expression.Name("lastSeen")
	nIdleOn       = expression.Name("idleOn")
	nIdleAfter    = expression.Name("idleAfter")
	nIdleLimit    = expression.Name("idleLimit")
	nIdleDeadline = expression.Name("idleDeadline")
	nIdleUntil    = expression.Name("idleUntil")
	nExpiresAtNs  = expression.Name("expiresAtNs")
	nLeaseUntil   = expression.Name("leaseUntil")
	nPool         = expression.Name("pool")
	nRenewedBy    = expression.Name("renewedBy")
)

// holds is the condition that a HOLDER names session id.
func holds(id string) expression.ConditionBuilder {
	return nSession.Equal(expression.Value(id))
}

// leaseLive is the condition that a session is open and its lease live at
// now; leaseLapsed that it holds no live lease at now (ended, reclaimed,
// lapsed, or without one).
func leaseLive(now time.Time) expression.ConditionBuilder {
	return itemExists().And(expression.AttributeNotExists(nEndReason), nLeaseUntil.GreaterThanEqual(expression.Value(nanos(now))))
}

func leaseLapsed(now time.Time) expression.ConditionBuilder {
	return expression.AttributeNotExists(nLeaseUntil).Or(nLeaseUntil.LessThan(expression.Value(nanos(now))), expression.AttributeExists(nEndReason))
}

// reclaimed is the update of the session whose lapsed seat a reclaim
// deletes: its lease set to 0, so that no heartbeat can extend it, whatever
// its now; on condition that it exists and holds no live lease at now.
func (s *Store) reclaimed(id string, now time.Time) (*types.Update, error) {
	c := itemExists().And(leaseLapsed(now))
	return s.update(sessionKey(id), expression.Set(nLeaseUntil, expression.Value(0)), &c)
}

// countBy changes a pool's COUNT by d (and bumps its change number v).
func (s *Store) countBy(k sesame.SeatKey, d int, cond *expression.ConditionBuilder) (*types.Update, error) {
	return s.update(countKey(k),
		expression.Set(nN, expression.Plus(expression.IfNotExists(nN, expression.Value(0)), expression.Value(d))).
			Add(nV, expression.Value(1)), cond)
}

// endSession is the update that ends session id with reason r at now, by
// the call whose token is by. With keep, a reason and time already there
// are kept (and the session need not be open); otherwise the session must
// be open.
func (s *Store) endSession(id string, r sesame.EndReason, now time.Time, by string, keep bool, also ...expression.ConditionBuilder) (*types.Update, error) {
	reason, at := expression.OperandBuilder(expression.Value(string(r))), expression.OperandBuilder(expression.Value(fmtTime(now)))
	who := expression.OperandBuilder(expression.Value(by))
	cond := itemExists()
	if keep {
		reason, at, who = expression.IfNotExists(nEndReason, reason), expression.IfNotExists(nEndedAt, at), expression.IfNotExists(nEndedBy, who)
	} else {
		cond = cond.And(expression.AttributeNotExists(nEndReason))
	}
	for _, c := range also {
		cond = cond.And(c)
	}
	u := expression.Set(nEndReason, reason).Set(nEndedAt, at).Set(nEndedBy, who).
		Set(nTTL, expression.Value(s.ttlAt(now, s.sessionKeep))).
		Remove(expression.Name(attrGSI1PK)).Remove(expression.Name(attrGSI1SK))
	return s.update(sessionKey(id), u, &cond)
}

// withLicenseCheck appends to items a transaction's check that the base
// of seat k is still at version v, the licence a limit was read from, and
// returns the check's index (items unchanged and -1 when v is 0).
func (s *Store) withLicenseCheck(items []types.TransactWriteItem, k sesame.SeatKey, v int64) ([]types.TransactWriteItem, int, error) {
	if v == 0 {
		return items, -1, nil
	}
	cc, err := s.conditionCheck(baseKey(sesame.BaseKey{UAI: k.UAI, Year: k.Year}), expression.Name("version").Equal(expression.Value(v)))
	if err != nil {
		return nil, -1, err
	}
	return append(items, types.TransactWriteItem{ConditionCheck: cc}), len(items), nil
}

// setHolder is the update that gives a HOLDER to lease l, taken by a
// session whose absolute end is end, on condition c.
func (s *Store) setHolder(l sesame.Lease, end time.Time, c expression.ConditionBuilder) (*types.Update, error) {
	return s.update(holderKey(l.SeatKey, l.Login),
		expression.Set(nSession, expression.Value(l.Session)).
			Set(nAcquiredAt, expression.Value(nanos(l.AcquiredAt))).
			Set(nTTL, expression.Value(s.holderTTL(l, end))), &c)
}

// setLease is the update that moves the lease of session id to until, by
// the call whose token is by, on condition c.
func (s *Store) setLease(id string, until time.Time, by string, c expression.ConditionBuilder) (*types.Update, error) {
	return s.update(sessionKey(id), expression.Set(nLeaseUntil, expression.Value(nanos(until))).
		Set(nRenewedBy, expression.Value(by)), &c)
}

// getSession reads a session with a consistent read.
func (s *Store) getSession(ctx context.Context, id string) (sesame.Session, bool, error) {
	x, _, ok, err := s.getSessionRecord(ctx, id)
	return x, ok, err
}

// getSessionRecord reads a session and its item with a consistent read.
func (s *Store) getSessionRecord(ctx context.Context, id string) (sesame.Session, sessionRecord, bool, error) {
	var r sessionRecord
	ok, err := s.get(ctx, sessionKey(id), &r)
	if err != nil || !ok {
		return sesame.Session{}, r, ok, err
	}
	x, err := r.domain()
	return x, r, err == nil, err
}

// endedBy reports whether session id was ended by the call whose token
// is by.
func (s *Store) endedBy(ctx context.Context, id, by string) bool {
	_, r, ok, err := s.getSessionRecord(ctx, id)
	return err == nil && ok && r.EndedBy == by
}

// createdBy reports whether session id exists and was created by the call
// whose token is by: that call's write landed, its answer lost.
func (s *Store) createdBy(ctx context.Context, id, by string) bool {
	_, r, ok, err := s.getSessionRecord(ctx, id)
	return err == nil && ok && r.CreatedBy == by
}

// AdmitSession stores session x and, when x.Pool is set, gives it the seat
// of its login in that pool, writing w in the same transaction. See doc.go
// for the algorithm.
func (s *Store) AdmitSession(ctx context.Context, x sesame.Session, p sesame.SeatPolicy, w sesame.AdmissionWrites, now time.Time) (sesame.Lease, error) {
	fail := func(err error) (sesame.Lease, error) {
		return sesame.Lease{}, fmt.Errorf("open session %.8s: %w", x.ID, err)
	}
	if x.ID == "" {
		return fail(sesame.Invalid("id", "L'identifiant de session est obligatoire."))
	}
	x.EndReason, x.EndedAt = "", time.Time{}
	extra, err := s.admitted(x.Base(), w)
	if err != nil {
		return fail(err)
	}
	if x.Pool == "" {
		if w.UsageDay != "" {
			upd, err := s.countSignIn(x.Base(), w.UsageDay, x.EntryPool(), x.ID)
			if err != nil {
				return fail(err)
			}
			extra = append(extra, types.TransactWriteItem{Update: upd})
		}
		if err := s.openSessionOnly(ctx, x, extra); err != nil {
			return fail(err)
		}
		return sesame.Lease{}, nil
	}
	if !x.Pool.Valid() {
		return fail(sesame.Invalid("pool", "Le groupe de connexions « %s » n'existe pas.", x.Pool))
	}
	if p.Lease <= 0 {
		return fail(sesame.Invalid("lease", "La durée d'une connexion doit être positive."))
	}
	l, err := s.openSeat(ctx, x, p, now, extra, w)
	if err != nil {
		return fail(err)
	}
	return l, nil
}

// openSessionOnly stores a session that takes no seat: one PutItem, or,
// with extra actions, one transaction.
func (s *Store) openSessionOnly(ctx context.Context, x sesame.Session, extra []types.TransactWriteItem) error {
	token := s.randomToken()
	put, err := s.putNew(s.newSessionRecord(x, token))
	if err != nil {
		return err
	}
	items := append([]types.TransactWriteItem{{Put: put}}, extra...)
	for unsure := 0; ; unsure++ {
		if len(extra) == 0 {
			_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: put.Item,
				ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
				ExpressionAttributeValues: put.ExpressionAttributeValues})
		} else {
			err = s.transact(ctx, items)
		}
		if err == nil {
			return nil
		}
		codes, isCancel := cancelled(err, len(items))
		if _, ok := conditionFailed(err); ok || (isCancel && failed(codes, 0)) {
			if s.createdBy(ctx, x.ID, token) { // an earlier try landed (ours, or the SDK's)
				return nil
			}
			return sesame.Exists(sessionName(x.ID))
		}
		if isCancel && !contended(err, codes) {
			return err // only the journal entry's own ID can clash
		}
		if !(ambiguous(ctx, err) || contended(err, codes)) || unsure >= s.ambiguous {
			return err
		}
		if err := s.pause(ctx, unsure+1); err != nil {
			return err
		}
	}
}

// seatTxn is a seat transaction and the position of each of its actions
// (-1 when absent), to read its cancellation reasons.
type seatTxn struct {
	items                                 []types.TransactWriteItem
	holder, count, old, sessionI, license int
}

func (t *seatTxn) add(item types.TransactWriteItem) int {
	t.items = append(t.items, item)
	return len(t.items) - 1
}

// openSeat is OpenSession with a pool: a loop of (read the user's HOLDER;
// one transaction), tried again after a lost race.
func (s *Store) openSeat(ctx context.Context, x sesame.Session, p sesame.SeatPolicy, now time.Time, extra []types.TransactWriteItem, w sesame.AdmissionWrites) (sesame.Lease, error) {
	seat := sesame.SeatKey{UAI: x.UAI, Year: x.Year, Pool: x.Pool}
	login := sesame.LoginKey(x.Login)
	lease := sesame.Lease{SeatKey: seat, Login: login, Session: x.ID, AcquiredAt: now, ExpiresAt: now.Add(p.Lease)}
	token := s.randomToken()
	rec := s.newSessionRecord(x, token)
	rec.LeaseUntil = nanos(lease.ExpiresAt)
	sessionPut, err := s.putNew(rec)
	if err != nil {
		return sesame.Lease{}, err
	}
	unsure := s.streak()         // tries in a row whose outcome was unknown
	notePeak := w.UsageDay != "" // the usage peak is still to note
	for attempt := 0; attempt < s.attempts; attempt++ {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return sesame.Lease{}, err
			}
		}
		h, c, found, err := s.readSeat(ctx, seat, login, x.ID, w.Seat, attempt)
		if err != nil {
			return sesame.Lease{}, err
		}
		if found && h.Session == x.ID {
			// Our own earlier try landed and its answer was lost, or the
			// caller reuses a session ID.
			if s.createdBy(ctx, x.ID, token) {
				return lease, nil
			}
			return sesame.Lease{}, sesame.Exists(sessionName(x.ID))
		}
		// The user's seat, if any, is live by its session's lease.
		var old sessionRecord
		oldFound := false
		if found {
			if oldFound, err = s.get(ctx, sessionKey(h.Session), &old); err != nil {
				return sesame.Lease{}, err
			}
		}
		live := found && old.holdsLease(oldFound, now)
		if !live && closed(p.Limit) {
			return sesame.Lease{}, sesame.Exhausted(x.Pool, p.Limit, nil, now)
		}

		t := seatTxn{holder: -1, count: -1, old: -1, sessionI: -1, license: -1}
		switch {
		case found: // the seat moves to the new session; the old one is replaced
			upd, err := s.setHolder(lease, x.ExpiresAt, holds(h.Session))
			if err != nil {
				return sesame.Lease{}, err
			}
			t.holder = t.add(types.TransactWriteItem{Update: upd})
			if !live && p.Limit != sesame.Unlimited {
				// Lapsed: a newcomer's, reusing the item. n counts this
				// HOLDER too: n <= limit means the others are fewer than
				// the limit.
				cc, err := s.conditionCheck(countKey(seat), nN.LessThanEqual(expression.Value(int(p.Limit))))
				if err != nil {
					return sesame.Lease{}, err
				}
				t.count = t.add(types.TransactWriteItem{ConditionCheck: cc})
			}
		default: // a newcomer
			put, err := s.putNew(s.newHolderRecord(lease, x.ExpiresAt))
			if err != nil {
				return sesame.Lease{}, err
			}
			t.holder = t.add(types.TransactWriteItem{Put: put})
			var cond *expression.ConditionBuilder
			if p.Limit != sesame.Unlimited {
				c := expression.AttributeNotExists(nN).Or(nN.LessThan(expression.Value(int(p.Limit))))
				cond = &c
			}
			upd, err := s.countBy(seat, 1, cond)
			if err != nil {
				return sesame.Lease{}, err
			}
			t.count = t.add(types.TransactWriteItem{Update: upd})
		}
		if !live {
			if t.items, t.license, err = s.withLicenseCheck(t.items, seat, p.LicenseVersion); err != nil {
				return sesame.Lease{}, err
			}
		}
		if oldFound {
			// The old session ends, its lease as it was read: live for a
			// move, lapsed for a newcomer.
			state := leaseLapsed(now)
			if live {
				state = nLeaseUntil.GreaterThanEqual(expression.Value(nanos(now))).And(expression.AttributeNotExists(nEndReason))
			}
			upd, err := s.endSession(h.Session, sesame.ReasonReplaced, now, token, true, state)
			if err != nil {
				return sesame.Lease{}, err
			}
			t.old = t.add(types.TransactWriteItem{Update: upd})
		}
		t.sessionI = t.add(types.TransactWriteItem{Put: sessionPut})
		t.items = append(t.items, extra...)
		// The count read with the HOLDER, and this admission: the holders
		// just after it, unless others came in between.
		lease.Held = int(c.N)
		if !found {
			lease.Held++
		}
		usage := -1
		if notePeak && (w.Seat == nil || lease.Held > w.Seat.Peak) {
			upd, err := s.raisePeak(seat, w.UsageDay, lease.Held)
			if err != nil {
				return sesame.Lease{}, err
			}
			usage = t.add(types.TransactWriteItem{Update: upd})
		}

		err = s.transact(ctx, t.items)
		if err == nil {
			return lease, nil
		}
		retry := unsure.again(ctx, err)
		codes, isCancel := cancelled(err, len(t.items))
		switch {
		case isCancel && failed(codes, usage):
			notePeak = false // the day's peak is already as high
			continue
		case isCancel && failed(codes, t.sessionI):
			if s.createdBy(ctx, x.ID, token) {
				return lease, nil // ours landed; the seat has moved on since
			}
			return sesame.Lease{}, sesame.Exists(sessionName(x.ID))
		case isCancel && failed(codes, t.license):
			return sesame.Lease{}, sesame.ErrLicenseChanged
		case isCancel && failed(codes, t.holder):
			continue // the HOLDER changed since we read it
		case isCancel && failed(codes, t.old):
			continue // the old session's lease changed since we read it
		case isCancel && failed(codes, t.count):
			// Full by the count: free lapsed seats, or refuse.
			if err := s.makeRoom(ctx, seat, login, p.Limit, now); err != nil {
				return sesame.Lease{}, err
			}
			continue
		case contended(err, codes), retry:
			continue
		}
		return sesame.Lease{}, err
	}
	return sesame.Lease{}, errGaveUp
}

// holders returns every HOLDER of a pool, live or lapsed, with a
// consistent Query of the pool's partition.
func (s *Store) holders(ctx context.Context, k sesame.SeatKey) ([]holderRecord, error) {
	var out []holderRecord
	err := s.queryAll(ctx, seatsPK(k), prefixHolder, func(item map[string]types.AttributeValue) error {
		var h holderRecord
		if err := attributevalue.UnmarshalMap(item, &h); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

// makeRoom runs when a pool's COUNT refused login at now. It reads the
// pool and:
//   - when the user holds a live lease after all, does nothing (a move is
//     now possible);
//   - when other holders have lapsed, deletes them and lowers the count in
//     one transaction (their sessions learn it at their next renewal);
//   - when the live others fill the limit, returns the *SeatsExhaustedError;
//   - otherwise (a seat was freed meanwhile, or the count is above the
//     number of HOLDER items because the TTL collected one), sets the
//     count to the number of HOLDER items, provided the count did not
//     change since it was read before the Query.
//
// A nil error means: try again.
func (s *Store) makeRoom(ctx context.Context, seat sesame.SeatKey, login string, limit sesame.Limit, now time.Time) error {
	var c countRecord
	haveCount, err := s.get(ctx, countKey(seat), &c)
	if err != nil {
		return err
	}
	hs, err := s.holders(ctx, seat)
	if err != nil {
		return err
	}
	sessions, err := s.holderSessions(ctx, hs)
	if err != nil {
		return err
	}
	var lapsed []lapsedHolder
	var leases []sesame.Lease
	others := 0
	for _, h := range hs {
		r, found := sessions[sessionPK(h.Session)]
		live := r.holdsLease(found, now)
		if h.Login == login {
			if live {
				return nil
			}
			continue
		}
		if live {
			others++
			leases = append(leases, h.domain(r, found))
		} else {
			lapsed = append(lapsed, lapsedHolder{h, found})
		}
	}
	if len(lapsed) > 0 {
		return s.reclaim(ctx, seat, lapsed, now)
	}
	if !limit.Admits(others) {
		return sesame.Exhausted(seat.Pool, limit, leases, now)
	}
	if haveCount && c.N == int64(len(hs)) {
		return nil // a seat was freed meanwhile
	}
	// Repair the count. Every change of the HOLDER items bumps v in the
	// same transaction, so an unchanged v means the Query saw them all
	// (bar TTL deletions, which only make n larger than needed).
	cond := nV.Equal(expression.Value(c.V))
	if !haveCount {
		cond = expression.AttributeNotExists(nV)
	}
	e, err := build(expression.NewBuilder().WithCondition(cond).
		WithUpdate(expression.Set(nN, expression.Value(len(hs))).Add(nV, expression.Value(1))))
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: countKey(seat),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	if _, ok := conditionFailed(err); ok || contended(err, nil) || ambiguous(ctx, err) {
		return nil
	}
	return err
}

// lapsedHolder is a HOLDER whose session holds no live lease, and whether
// that session was found.
type lapsedHolder struct {
	holderRecord
	session bool
}

// holderSessions reads the sessions that HOLDER items hs name, by
// partition key, with consistent reads.
func (s *Store) holderSessions(ctx context.Context, hs []holderRecord) (map[string]sessionRecord, error) {
	pks := make([]string, len(hs))
	for i, h := range hs {
		pks[i] = sessionPK(h.Session)
	}
	return s.batchGet(ctx, pks)
}

// reclaim deletes lapsed HOLDER items and lowers the count by as many, 49
// at most per transaction. Each delete is conditional on the HOLDER still
// naming its session, and comes with the update of that session (when it
// exists) that sets its lease to 0 on condition that it holds no live
// lease at now: a heartbeat that lands first fails the reclaim, one that
// lands after finds no lease to extend. A failed condition only means that
// the caller should look again.
func (s *Store) reclaim(ctx context.Context, seat sesame.SeatKey, lapsed []lapsedHolder, now time.Time) error {
	for chunk := range slices.Chunk(lapsed, (maxTransactItems-1)/2) {
		var items []types.TransactWriteItem
		for _, h := range chunk {
			del, err := s.deleteIf(holderKey(seat, h.Login), holds(h.Session))
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Delete: del})
			if h.session {
				upd, err := s.reclaimed(h.Session, now)
				if err != nil {
					return err
				}
				items = append(items, types.TransactWriteItem{Update: upd})
			}
		}
		upd, err := s.countBy(seat, -len(chunk), nil)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Update: upd})
		err = s.transact(ctx, items)
		if codes, ok := cancelled(err, len(items)); ok || contended(err, codes) || ambiguous(ctx, err) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// GetSession returns a session, open or ended.
func (s *Store) GetSession(ctx context.Context, id string) (sesame.Session, error) {
	x, ok, err := s.getSession(ctx, id)
	if err == nil && !ok {
		err = sesame.NotFound(sessionName(id))
	}
	if err != nil {
		return sesame.Session{}, fmt.Errorf("get session %.8s: %w", id, err)
	}
	return x, nil
}

// ReadSession reads session id (one consistent GetItem), then, when it is
// open, its user, its base and the profile it names (or its space's
// setting) in one consistent BatchGetItem. With near, all of them come in
// one BatchGetItem, the session first checked to lie where near says;
// otherwise it goes the first way.
func (s *Store) ReadSession(ctx context.Context, id string, near sesame.SessionNear) (sesame.SessionRead, error) {
	fail := func(err error) (sesame.SessionRead, error) {
		return sesame.SessionRead{}, fmt.Errorf("read session %.8s: %w", id, err)
	}
	var (
		x  sesame.Session
		u  userRecord
		b  baseRecord
		pr profileRecord
	)
	profileOf := func(x sesame.Session) string {
		if x.Profile != "" {
			return x.Profile
		}
		return sesame.IdleProfileFor(sesame.User{}, x.Mode)
	}
	content := func(k sesame.BaseKey, login, profile string) ([]map[string]types.AttributeValue, []any) {
		keys, outs := []map[string]types.AttributeValue{contentKey(k, userSK(login)), baseKey(k)}, []any{&u, &b}
		if profile != "" {
			keys, outs = append(keys, contentKey(k, profileSK(profile))), append(outs, &pr)
		}
		return keys, outs
	}
	var found []bool
	if near.Base.UAI != "" {
		var sr sessionRecord
		keys, outs := content(near.Base, near.Login, near.Profile)
		got, err := s.getMany(ctx, append([]map[string]types.AttributeValue{sessionKey(id)}, keys...), append([]any{&sr}, outs...))
		if err != nil {
			return fail(err)
		}
		if !got[0] {
			return fail(sesame.NotFound(sessionName(id)))
		}
		if x, err = sr.domain(); err != nil {
			return fail(err)
		}
		if !x.Open() {
			return sesame.SessionRead{Session: x}, nil
		}
		if x.Base() == near.Base && sesame.LoginKey(x.Login) == near.Login && profileOf(x) == near.Profile {
			found = got[1:]
		}
	}
	var err error
	if found == nil {
		u, b, pr = userRecord{}, baseRecord{}, profileRecord{} // what a misleading near read
		if x.ID == "" {
			x, err = s.GetSession(ctx, id)
			if err != nil || !x.Open() {
				return sesame.SessionRead{Session: x}, err
			}
		}
		keys, outs := content(x.Base(), x.Login, profileOf(x))
		if found, err = s.getMany(ctx, keys, outs); err != nil {
			return fail(err)
		}
	}
	k := x.Base()
	space := profileOf(x)
	if !found[1] {
		_, err := fail(sesame.NotFound(baseName(k)))
		return sesame.SessionRead{Session: x}, err
	}
	r := sesame.SessionRead{Session: x}
	if r.Base, err = b.domain(); err != nil {
		return fail(err)
	}
	if found[0] {
		v, err := u.domain()
		if err != nil {
			return fail(err)
		}
		r.User = &v
	}
	if space != "" && found[2] {
		p, err := pr.domain()
		if err != nil {
			return fail(err)
		}
		r.Profile = &p
	}
	return r, nil
}

// TouchSession stores the activity times of open session x.ID.
func (s *Store) TouchSession(ctx context.Context, x sesame.Session) error {
	if err := s.touch(ctx, x, time.Time{}, time.Time{}, ""); err != nil {
		return fmt.Errorf("touch session %.8s: %w", x.ID, err)
	}
	return nil
}

// touch stores the activity times and the stamp of open session x.ID with
// one conditional UpdateItem and, when until is set, extends its lease to
// until, by the call whose token is by, on condition that it is live at
// now: it returns errAgain when only that condition failed (the session is
// open, its lease is not live), and nil when an earlier try of the same
// call landed whatever changed since.
func (s *Store) touch(ctx context.Context, x sesame.Session, until, now time.Time, by string) error {
	st := stampOf(x)
	u := expression.Set(nLastActivity, expression.Value(fmtTime(x.LastActivity))).
		Set(nLastSeen, expression.Value(fmtTime(x.LastSeen))).
		Set(nIdleOn, expression.Value(st.IdleOn)).Set(nIdleAfter, expression.Value(st.IdleAfter)).
		Set(nIdleLimit, expression.Value(st.IdleLimit)).Set(nIdleDeadline, expression.Value(st.IdleDeadline)).
		Set(nIdleUntil, expression.Value(st.IdleUntil)).Set(nExpiresAtNs, expression.Value(st.ExpiresAtNs))
	cond := itemExists().And(expression.AttributeNotExists(nEndReason))
	if !until.IsZero() {
		u, cond = u.Set(nLeaseUntil, expression.Value(nanos(until))).Set(nRenewedBy, expression.Value(by)), leaseLive(now)
	}
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return err
	}
	// The write holds again after it landed (the session is still open, its
	// lease live), so an unknown outcome or a conflict is simply tried again.
	_, err = s.updateAgain(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sessionKey(x.ID),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if old, ok := conditionFailed(err); ok {
		if len(old) == 0 {
			return sesame.NotFound(sessionName(x.ID))
		}
		var r sessionRecord
		if err := attributevalue.UnmarshalMap(old, &r); err != nil {
			return err
		}
		if by != "" && r.RenewedBy == by {
			return nil // an earlier try landed (ours, or the SDK's)
		}
		ended, err := r.domain()
		if err != nil {
			return err
		}
		if ended.Open() {
			return errAgain
		}
		return endedError(ended)
	}
	return err
}

// errAgain tells a loop to try again after a failed condition;
// errContended after a conflict with a transaction in progress.
var (
	errAgain     = errors.New("dynamo: try again")
	errContended = errors.New("dynamo: contended")
)

// BeatSession stores the activity of open session x and, when it holds a
// seat with a live lease, extends that lease in the same conditional
// UpdateItem (see touch). A lapsed, lost or moved seat is RenewSeat's,
// after the activity is stored alone.
func (s *Store) BeatSession(ctx context.Context, x sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	if x.Pool == "" || p.Lease <= 0 {
		if err := s.TouchSession(ctx, x); err != nil {
			return sesame.Lease{}, err
		}
		if x.Pool == "" {
			return sesame.Lease{}, nil // the session as stored takes no seat
		}
		return s.RenewSeat(ctx, x.ID, p, now)
	}
	seat := sesame.SeatKey{UAI: x.UAI, Year: x.Year, Pool: x.Pool}
	l := sesame.Lease{SeatKey: seat, Login: sesame.LoginKey(x.Login), Session: x.ID, ExpiresAt: now.Add(p.Lease)}
	err := s.touch(ctx, x, l.ExpiresAt, now, s.randomToken())
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, errAgain) {
		return sesame.Lease{}, fmt.Errorf("heartbeat of session %.8s: %w", x.ID, err)
	}
	if err := s.TouchSession(ctx, x); err != nil {
		return sesame.Lease{}, err
	}
	return s.RenewSeat(ctx, x.ID, p, now)
}

// BeatStamped applies a heartbeat under the idle setting stamped on
// session id with one conditional UpdateItem of the session (ALL_NEW):
// its condition is sesame.Session.Heartbeat's going on under the stamp,
// on stored numbers (see idleStamp), and, for a session holding a seat,
// that its lease is live; the update stores what that rule stores and
// extends the lease. Any failed condition is sesame.ErrNotStamped: the
// service's full path reads, judges and says why.
func (s *Store) BeatStamped(ctx context.Context, id string, idle time.Duration, p sesame.SeatPolicy, now time.Time) (sesame.Session, error) {
	x, err := s.beatStamped(ctx, id, idle, p.Lease, now, s.randomToken())
	if err != nil {
		return sesame.Session{}, fmt.Errorf("heartbeat of session %.8s: %w", id, err)
	}
	return x, nil
}

// beatStamped is BeatStamped's write, by the call whose token is by. The
// write holds again after it landed only while the rule still lets the
// session go on, so an unknown outcome is tried again; a failed condition
// after one is that call's own landed write when the session bears its
// token (the session as it stands is then the answer), and otherwise the
// full path's: it judges from what it reads. A session without a seat (pool
// "") passes the lease's condition whatever its leaseUntil, which the
// update writes all the same (it means nothing there); with lease <= 0
// only such a session passes.
func (s *Store) beatStamped(ctx context.Context, id string, idle, lease time.Duration, now time.Time, by string) (sesame.Session, error) {
	at := sesame.ReportedActivity(now, idle)
	t := expression.Value(nanos(now))
	seatless := nPool.Equal(expression.Value(""))
	u := expression.Set(nLastActivity, expression.Value(fmtTime(at))).
		Set(nLastSeen, expression.Value(fmtTime(now))).Set(nRenewedBy, expression.Value(by)).
		Set(nIdleDeadline, expression.Plus(nIdleLimit, expression.Value(nanos(at))))
	seat := seatless
	if lease > 0 {
		u = u.Set(nLeaseUntil, expression.Value(nanos(now.Add(lease))))
		seat = seatless.Or(nLeaseUntil.GreaterThanEqual(t))
	}
	e, err := build(expression.NewBuilder().WithUpdate(u).
		WithCondition(itemExists().And(expression.AttributeNotExists(nEndReason)).
			And(nIdleUntil.GreaterThan(t), nExpiresAtNs.GreaterThan(t), nIdleDeadline.GreaterThan(t)).
			And(nIdleLimit.GreaterThan(expression.Value(int64(now.Sub(at)))), seat)))
	if err != nil {
		return sesame.Session{}, err
	}
	out, err := s.updateAgain(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sessionKey(id),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	item, refused := conditionFailed(err) // the session as it stands
	switch {
	case err != nil && !refused:
		return sesame.Session{}, err
	case !refused:
		item = out.Attributes
	}
	var r sessionRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return sesame.Session{}, fmt.Errorf("dynamo: decoding session: %w", err)
	}
	if r.RenewedBy != by {
		return sesame.Session{}, sesame.ErrNotStamped
	}
	return r.domain()
}

// updateAgain sends UpdateItem in, again after an unknown outcome or a
// conflict, a bounded number of times: for writes whose condition holds
// again after they landed.
func (s *Store) updateAgain(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	unsure := s.streak()
	for attempt := 0; ; attempt++ {
		out, err := s.db.UpdateItem(ctx, in)
		retry := unsure.again(ctx, err)
		if attempt+1 >= s.attempts || !(retry || contended(err, nil)) {
			return out, err
		}
		if err := s.pause(ctx, attempt+1); err != nil {
			return nil, err
		}
	}
}

// UnstampSession removes the stamp of session id's idle setting with one
// UpdateItem (its idleUntil set to 0), on condition that it exists.
func (s *Store) UnstampSession(ctx context.Context, id string) error {
	e, err := build(expression.NewBuilder().WithUpdate(expression.Set(nIdleUntil, expression.Value(0))).WithCondition(itemExists()))
	if err == nil {
		_, err = s.updateAgain(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sessionKey(id),
			UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	}
	if _, ok := conditionFailed(err); ok {
		err = sesame.NotFound(sessionName(id))
	}
	if err != nil {
		return fmt.Errorf("unstamp session %.8s: %w", id, err)
	}
	return nil
}

// RenewSeat extends the lease of open session id. See doc.go.
func (s *Store) RenewSeat(ctx context.Context, id string, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	token := s.randomToken() // of the end as seat_lost, if it comes to that
	fail := func(err error) (sesame.Lease, error) {
		if errors.Is(err, sesame.ErrSessionEnded) && s.endedBy(ctx, id, token) {
			err = seatLostError() // this call ended it, and lost the answer on the way
		}
		return sesame.Lease{}, fmt.Errorf("renew seat %.8s: %w", id, err)
	}
	x, ok, err := s.getSession(ctx, id)
	switch {
	case err != nil:
		return fail(err)
	case !ok:
		return fail(sesame.NotFound(sessionName(id)))
	case !x.Open():
		return fail(endedError(x))
	case x.Pool == "":
		return sesame.Lease{}, nil
	case p.Lease <= 0:
		return fail(sesame.Invalid("lease", "La durée d'une connexion doit être positive."))
	}
	seat := sesame.SeatKey{UAI: x.UAI, Year: x.Year, Pool: x.Pool}
	login := sesame.LoginKey(x.Login)
	lease := sesame.Lease{SeatKey: seat, Login: login, Session: id, AcquiredAt: now, ExpiresAt: now.Add(p.Lease)}
	unsure := s.streak()
	for attempt := 0; attempt < s.attempts; attempt++ {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return fail(err)
			}
		}
		// The usual case: our live lease is extended.
		r, err := s.extend(ctx, lease, now, token)
		if err == nil {
			renewed := lease
			renewed.AcquiredAt = time.Time{} // the HOLDER's, not read
			return renewed, nil
		}
		retry := unsure.again(ctx, err)
		if errors.Is(err, errContended) {
			continue
		}
		if !errors.Is(err, errAgain) {
			if retry {
				continue
			}
			return fail(err)
		}
		switch {
		case r == nil:
			return fail(sesame.NotFound(sessionName(id)))
		case r.RenewedBy == token:
			// An earlier try of this call landed (an extension, or the
			// lease taken again) and its answer was lost; the session
			// changed since (ended, say): the renewal came first.
			return lease, nil
		case r.EndReason != "":
			y, err := r.domain()
			if err != nil {
				return fail(err)
			}
			return fail(endedError(y))
		case r.LeaseUntil >= nanos(now):
			continue // it changed between the update and now
		}
		// The lease has lapsed (or its seat was reclaimed): whose is the seat?
		var h holderRecord
		found, err := s.get(ctx, holderKey(seat, login), &h)
		if err != nil {
			return fail(err)
		}
		switch {
		case !found:
			// The HOLDER was reclaimed after a lapse: the session comes
			// back as a newcomer if the pool admits it.
			err := s.readmit(ctx, x, lease, p, now, token)
			retry := unsure.again(ctx, err)
			switch {
			case err == nil:
				return lease, nil
			case errors.Is(err, sesame.ErrSeatsExhausted):
				lost := s.loseSeat(ctx, x, nil, now, token)
				if errors.Is(lost, errAgain) {
					continue
				}
				return fail(lost)
			case errors.Is(err, errAgain), errors.Is(err, errContended):
				continue
			case retry:
				continue
			}
			return fail(err)
		case h.Session != id:
			// Another session's: the seat is lost, unless this session
			// already ended (moved to a newer session, among others).
			lost := s.loseSeat(ctx, x, nil, now, token)
			if errors.Is(lost, errAgain) {
				continue
			}
			return fail(lost)
		}
		// Ours but lapsed: take it again if the pool admits it.
		err = s.retake(ctx, x, lease, p, now, token)
		retry = unsure.again(ctx, err)
		switch {
		case err == nil:
			return lease, nil
		case errors.Is(err, sesame.ErrSeatsExhausted):
			lost := s.loseSeat(ctx, x, &h, now, token)
			if errors.Is(lost, errAgain) {
				continue
			}
			return fail(lost)
		case errors.Is(err, errAgain):
			continue
		case retry:
			continue
		}
		return fail(err)
	}
	return fail(errGaveUp)
}

// extend moves the lease of open session l.Session to l.ExpiresAt with one
// UpdateItem of the session, by the call whose token is by, on condition
// that its lease is live at now.
// When the condition fails it returns errAgain and the session as it
// stood (nil when there is none); errContended when a transaction held the
// item. The write holds again after it landed.
func (s *Store) extend(ctx context.Context, l sesame.Lease, now time.Time, by string) (*sessionRecord, error) {
	e, err := build(expression.NewBuilder().
		WithUpdate(expression.Set(nLeaseUntil, expression.Value(nanos(l.ExpiresAt))).Set(nRenewedBy, expression.Value(by))).
		WithCondition(leaseLive(now)))
	if err != nil {
		return nil, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sessionKey(l.Session),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if old, ok := conditionFailed(err); ok {
		if len(old) == 0 {
			return nil, errAgain
		}
		var r sessionRecord
		if err := attributevalue.UnmarshalMap(old, &r); err != nil {
			return nil, fmt.Errorf("dynamo: decoding session: %w", err)
		}
		return &r, errAgain
	}
	if contended(err, nil) {
		return nil, errContended
	}
	return nil, err
}

// readmit gives open session x a new HOLDER when its own was reclaimed:
// Transact[Put HOLDER if absent; COUNT n+1 if n < limit; Update the
// session's lease if it is still open and holds no live lease]. It returns
// errAgain after a lost race (the HOLDER appeared, the lease was renewed,
// or a lapsed seat was freed to make room), the
// *SeatsExhaustedError when the live holders fill the pool, and the
// session's end when it ended meanwhile.
func (s *Store) readmit(ctx context.Context, x sesame.Session, l sesame.Lease, p sesame.SeatPolicy, now time.Time, token string) error {
	limit := p.Limit
	if closed(limit) {
		return sesame.Exhausted(l.Pool, limit, nil, now)
	}
	put, err := s.putNew(s.newHolderRecord(l, x.ExpiresAt))
	if err != nil {
		return err
	}
	var cond *expression.ConditionBuilder
	if limit != sesame.Unlimited {
		c := expression.AttributeNotExists(nN).Or(nN.LessThan(expression.Value(int(limit))))
		cond = &c
	}
	count, err := s.countBy(l.SeatKey, 1, cond)
	if err != nil {
		return err
	}
	open, err := s.setLease(x.ID, l.ExpiresAt, token, itemExists().And(expression.AttributeNotExists(nEndReason), leaseLapsed(now)))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: put}, {Update: count}, {Update: open}}
	items, license, err := s.withLicenseCheck(items, l.SeatKey, p.LicenseVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	codes, ok := cancelled(err, len(items))
	switch {
	case err == nil:
		return nil
	case ok && failed(codes, 2): // ended (nothing to take again, whatever the licence), or renewed
		y, found, gerr := s.getSession(ctx, x.ID)
		switch {
		case gerr != nil:
			return gerr
		case !found:
			return sesame.NotFound(sessionName(x.ID))
		case y.Open():
			return errAgain
		}
		return endedError(y)
	case ok && failed(codes, license):
		return sesame.ErrLicenseChanged
	case ok && failed(codes, 0):
		return errAgain
	case ok && failed(codes, 1):
		if err := s.makeRoom(ctx, l.SeatKey, l.Login, limit, now); err != nil {
			return err
		}
		return errAgain
	case contended(err, codes):
		return errContended
	}
	return err
}

// retake gives a lapsed HOLDER back to its session x when the pool admits
// it: Transact[Update HOLDER if still ours; Update the session's lease if
// it is open and lapsed; ConditionCheck COUNT n <= limit]. It returns
// errAgain after a lost race, and the *SeatsExhaustedError when the live
// others fill the pool.
func (s *Store) retake(ctx context.Context, x sesame.Session, l sesame.Lease, p sesame.SeatPolicy, now time.Time, token string) error {
	limit := p.Limit
	if closed(limit) {
		return sesame.Exhausted(l.Pool, limit, nil, now)
	}
	upd, err := s.setHolder(l, x.ExpiresAt, holds(l.Session))
	if err != nil {
		return err
	}
	own, err := s.setLease(l.Session, l.ExpiresAt, token, itemExists().And(expression.AttributeNotExists(nEndReason), leaseLapsed(now)))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: upd}, {Update: own}}
	count := -1
	if limit != sesame.Unlimited {
		cc, err := s.conditionCheck(countKey(l.SeatKey), nN.LessThanEqual(expression.Value(int(limit))))
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{ConditionCheck: cc})
		count = len(items) - 1
	}
	items, license, err := s.withLicenseCheck(items, l.SeatKey, p.LicenseVersion)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	codes, ok := cancelled(err, len(items))
	switch {
	case err == nil:
		return nil
	case ok && (failed(codes, 0) || failed(codes, 1)): // the HOLDER or the session changed: look again
		return errAgain
	case ok && failed(codes, license):
		return sesame.ErrLicenseChanged
	case ok && failed(codes, count):
		if err := s.makeRoom(ctx, l.SeatKey, l.Login, limit, now); err != nil {
			return err
		}
		return errAgain
	case contended(err, codes):
		return errAgain
	}
	return err
}

// loseSeat ends open session x with ReasonSeatLost, by the RenewSeat call
// whose token is token, on condition that it holds no live lease at now,
// and, when h is its HOLDER, deletes it and lowers the count in the same
// transaction. It returns the ErrSeatLost error; ErrSessionEnded when the
// session had already ended; errAgain when the HOLDER or the lease changed
// meanwhile.
func (s *Store) loseSeat(ctx context.Context, x sesame.Session, h *holderRecord, now time.Time, token string) error {
	seat := sesame.SeatKey{UAI: x.UAI, Year: x.Year, Pool: x.Pool}
	end, err := s.endSession(x.ID, sesame.ReasonSeatLost, now, token, false, leaseLapsed(now))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: end}}
	if h != nil {
		del, err := s.deleteIf(holderKey(seat, h.Login), holds(x.ID))
		if err != nil {
			return err
		}
		upd, err := s.countBy(seat, -1, nil)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Delete: del}, types.TransactWriteItem{Update: upd})
	}
	for unsure := 0; ; unsure++ {
		err := s.transactOrUpdate(ctx, items)
		if err == nil {
			return seatLostError()
		}
		codes, ok := cancelled(err, len(items))
		_, single := conditionFailed(err)
		switch {
		case single || (ok && failed(codes, 0)):
			// The session is no longer open: say how it ended.
			y, rec, found, err := s.getSessionRecord(ctx, x.ID)
			switch {
			case err != nil:
				return err
			case !found:
				return sesame.NotFound(sessionName(x.ID))
			case y.Open():
				return errAgain
			case rec.EndedBy == token:
				return seatLostError() // an earlier try landed (ours, or the SDK's)
			}
			return endedError(y)
		case ok && failed(codes, 1), contended(err, codes):
			return errAgain
		case ambiguous(ctx, err) && unsure < s.ambiguous:
			if err := s.pause(ctx, unsure+1); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// transactOrUpdate runs one Update alone as an UpdateItem (half the cost of
// a transaction), and anything else as a transaction.
func (s *Store) transactOrUpdate(ctx context.Context, items []types.TransactWriteItem) error {
	if len(items) == 1 && items[0].Update != nil {
		u := items[0].Update
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
			UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
		return err
	}
	return s.transact(ctx, items)
}

// EndSession ends open session id with reason r and frees its seat in the
// same transaction.
func (s *Store) EndSession(ctx context.Context, id string, r sesame.EndReason, now time.Time) (sesame.Session, error) {
	fail := func(err error) (sesame.Session, error) {
		return sesame.Session{}, fmt.Errorf("end session %.8s: %w", id, err)
	}
	unsure := s.streak()
	token := s.randomToken()
	// The first try takes the session item's word that its HOLDER names
	// it: a reclaim sets leaseUntil to 0 with its delete, and a move ends
	// the session with its update. Only the TTL deletes a HOLDER alone; the
	// transaction then fails on it, and the next try reads the HOLDER.
	trust := true
	for attempt := 0; attempt < s.attempts; attempt++ {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return fail(err)
			}
		}
		x, rec, ok, err := s.getSessionRecord(ctx, id)
		switch {
		case err != nil:
			return fail(err)
		case !ok:
			return fail(sesame.NotFound(sessionName(id)))
		case !x.Open() && rec.EndedBy == token:
			return x, nil // an earlier try landed (ours, or the SDK's)
		case !x.Open():
			return x, fmt.Errorf("end session %.8s: %w", id, endedError(x))
		}
		var items []types.TransactWriteItem
		if x.Pool != "" {
			seat := sesame.SeatKey{UAI: x.UAI, Year: x.Year, Pool: x.Pool}
			login := sesame.LoginKey(x.Login)
			named := trust && rec.LeaseUntil != 0
			if !named {
				var h holderRecord
				found, err := s.get(ctx, holderKey(seat, login), &h)
				if err != nil {
					return fail(err)
				}
				named = found && h.Session == id
			}
			if named {
				del, err := s.deleteIf(holderKey(seat, login), holds(id))
				if err != nil {
					return fail(err)
				}
				upd, err := s.countBy(seat, -1, nil)
				if err != nil {
					return fail(err)
				}
				items = append(items, types.TransactWriteItem{Delete: del}, types.TransactWriteItem{Update: upd})
			}
		}
		// A HOLDER that names the session once it has ended (taken again
		// between the read and this write) is lapsed: the next reclaim
		// frees it.
		trust = false
		end, err := s.endSession(id, r, now, token, false)
		if err != nil {
			return fail(err)
		}
		items = append([]types.TransactWriteItem{{Update: end}}, items...)
		err = s.transactOrUpdate(ctx, items)
		if err == nil {
			x.EndReason, x.EndedAt = r, now
			return x, nil
		}
		retry := unsure.again(ctx, err)
		codes, isCancel := cancelled(err, len(items))
		_, single := conditionFailed(err)
		switch {
		case single || isCancel || contended(err, codes):
			continue // the session or its HOLDER changed: read again
		case retry:
			continue
		}
		return fail(err)
	}
	return fail(errGaveUp)
}

// ListSessions returns the base's open sessions, oldest first: a Query of
// GSI1 (which only open sessions are in), whose answers are confirmed with
// consistent reads, since the index lags behind the table.
func (s *Store) ListSessions(ctx context.Context, k sesame.BaseKey) ([]sesame.Session, error) {
	fail := func(err error) ([]sesame.Session, error) { return nil, fmt.Errorf("list sessions of %s: %w", k, err) }
	e, err := build(expression.NewBuilder().WithKeyCondition(
		expression.Key(attrGSI1PK).Equal(expression.Value(sessionsGSI1PK(k)))))
	if err != nil {
		return fail(err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(indexGSI1),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ProjectionExpression: aws.String(attrPK + "," + attrSK)}
	var ids []string
	for {
		var out *dynamodb.QueryOutput
		err := s.read(ctx, func() (err error) {
			out, err = s.db.Query(ctx, in)
			return err
		})
		if err != nil {
			return fail(err)
		}
		for _, item := range out.Items {
			if pk, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
				ids = append(ids, pk.Value)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	found, err := s.batchGet(ctx, ids)
	if err != nil {
		return fail(err)
	}
	out := []sesame.Session{}
	for _, pk := range ids {
		r, ok := found[pk]
		if !ok || r.EndReason != "" || r.UAI != string(k.UAI) || r.Year != string(k.Year) {
			continue
		}
		x, err := r.domain()
		if err != nil {
			return fail(err)
		}
		out = append(out, x)
	}
	return out, nil
}

// batchGet reads sessions by partition key with consistent reads, 100 per
// BatchGetItem, until none is left unprocessed.
func (s *Store) batchGet(ctx context.Context, pks []string) (map[string]sessionRecord, error) {
	found := map[string]sessionRecord{}
	for chunk := range slices.Chunk(pks, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, pk := range chunk {
			keys[i] = key(pk, skSession)
		}
		err := s.batchGetItems(ctx, keys, func(item map[string]types.AttributeValue) error {
			var r sessionRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return fmt.Errorf("dynamo: decoding session: %w", err)
			}
			found[r.PK] = r
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// ListLeases returns the base's live leases by pool (in the order of
// sesame.Pools) then login: each pool read as poolLeases does, the pools
// side by side.
func (s *Store) ListLeases(ctx context.Context, k sesame.BaseKey, now time.Time) ([]sesame.Lease, error) {
	per := make([][]sesame.Lease, len(sesame.Pools))
	errs := make([]error, len(sesame.Pools))
	var wg sync.WaitGroup
	for i, p := range sesame.Pools {
		wg.Go(func() {
			per[i], errs[i] = s.poolLeases(ctx, sesame.SeatKey{UAI: k.UAI, Year: k.Year, Pool: p}, now)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list leases of %s: %w", k, err)
	}
	out := []sesame.Lease{}
	for _, ls := range per {
		out = append(out, ls...)
	}
	return out, nil
}

// stableReads is how many times poolLeases reads a pool again while it
// changes under it.
const stableReads = 5

// poolLeases returns the leases of pool k live at now: a consistent Query
// of its HOLDER items, a consistent BatchGetItem of the sessions they name
// (whose leases say which are live), then the Query again, until it comes
// back unchanged: every change of a HOLDER (taken, moved, taken again,
// freed, reclaimed) changes its item, so the sessions were read while the
// seats held still, and a seat moving between the two reads is counted
// once, not missed. Under constant change it answers its last read.
func (s *Store) poolLeases(ctx context.Context, k sesame.SeatKey, now time.Time) ([]sesame.Lease, error) {
	hs, err := s.holders(ctx, k)
	for try := 1; err == nil && len(hs) > 0; try++ {
		var sessions map[string]sessionRecord
		if sessions, err = s.holderSessions(ctx, hs); err != nil {
			break
		}
		again, err := s.holders(ctx, k)
		if err != nil {
			return nil, err
		}
		if slices.Equal(hs, again) || try == stableReads {
			var out []sesame.Lease
			for _, h := range hs {
				r, found := sessions[sessionPK(h.Session)]
				if r.holdsLease(found, now) {
					out = append(out, h.domain(r, found))
				}
			}
			return out, nil
		}
		hs = again
	}
	return nil, err
}
