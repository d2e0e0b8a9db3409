package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// What a sign-in reads before it verifies a password, and what its
// admission writes with the session.

// ReadSignIn reads the school, the throttling counters and, in the year
// asked for or else the guessed one, the base, the user and the profile,
// in one consistent BatchGetItem; a second one reads the base, the user
// and the profile of the school's current year when the guess was wrong.
func (s *Store) ReadSignIn(ctx context.Context, q sesame.SignInQuery) (sesame.SignInRead, error) {
	fail := func(err error) (sesame.SignInRead, error) {
		return sesame.SignInRead{}, fmt.Errorf("read sign-in %s: %w", q.UAI, err)
	}
	var out sesame.SignInRead
	var school schoolRecord
	counters := make([]attemptsRec, len(q.Counters))
	keys, outs := []map[string]types.AttributeValue{key(schoolPK(q.UAI), skSchool)}, []any{&school}
	for i, k := range q.Counters {
		keys, outs = append(keys, attemptsKey(k)), append(outs, &counters[i])
	}
	year := q.Year
	if year == "" {
		year = q.Guess
	}
	var (
		holder holderRecord
		count  countRecord
		usage  usageRecord
	)
	var c contentRead
	if year != "" {
		keys, outs = c.add(keys, outs, sesame.BaseKey{UAI: q.UAI, Year: year}, q)
	}
	if q.Seat != "" && year != "" {
		seat := sesame.SeatKey{UAI: q.UAI, Year: year, Pool: q.Seat}
		keys = append(keys, holderKey(seat, q.Login), countKey(seat), key(usagePK(sesame.BaseKey{UAI: q.UAI, Year: year}), usageSK(q.Day, q.Seat)))
		outs = append(outs, &holder, &count, &usage)
	}
	found, err := s.getMany(ctx, keys, outs)
	if err != nil {
		return fail(err)
	}
	if q.Seat != "" && year != "" {
		n := len(found)
		out.Seat = &sesame.SeatHint{Count: int(count.N), Peak: usage.Peak}
		if found[n-3] {
			l := holder.domain(sessionRecord{}, false) // its expiry is its session's, not read
			out.Seat.Holder = &l
		}
		found = found[:n-3]
	}
	for i, k := range q.Counters {
		a := sesame.Attempts{Key: k}
		if found[1+i] {
			r := counters[i]
			a = sesame.Attempts{Key: k, Failures: r.Failures, WindowStart: optTime(r.WindowStart),
				LockedUntil: optTime(r.LockedUntil), Version: r.Version}
		}
		out.Counters = append(out.Counters, a)
	}
	if !found[0] {
		return out, nil
	}
	sc := school.domain()
	out.School = &sc
	at := 1 + len(q.Counters)
	if q.Year == "" && sc.CurrentYear != year { // a wrong guess: read the current base
		c = contentRead{}
		keys, outs := c.add(nil, nil, sesame.BaseKey{UAI: q.UAI, Year: sc.CurrentYear}, q)
		if found, err = s.getMany(ctx, keys, outs); err != nil {
			return fail(err)
		}
		at, out.Seat = 0, nil
	}
	if err := c.into(&out, found[at:]); err != nil {
		return fail(err)
	}
	return out, nil
}

// contentRead is the base, user and profile items a sign-in reads.
type contentRead struct {
	b baseRecord
	u userRecord
	p profileRecord
}

func (c *contentRead) add(keys []map[string]types.AttributeValue, outs []any, k sesame.BaseKey, q sesame.SignInQuery) ([]map[string]types.AttributeValue, []any) {
	keys = append(keys, baseKey(k), contentKey(k, userSK(q.Login)))
	outs = append(outs, &c.b, &c.u)
	if q.Profile != "" {
		keys, outs = append(keys, contentKey(k, profileSK(q.Profile))), append(outs, &c.p)
	}
	return keys, outs
}

// into decodes what was found (base, user, profile, in the order of add).
func (c *contentRead) into(out *sesame.SignInRead, found []bool) error {
	if !found[0] {
		return nil
	}
	b, err := c.b.domain()
	if err != nil {
		return err
	}
	out.Base = &b
	if found[1] {
		u, err := c.u.domain()
		if err != nil {
			return err
		}
		out.User = &u
	}
	if len(found) > 2 && found[2] {
		p, err := c.p.domain()
		if err != nil {
			return err
		}
		out.Profile = &p
	}
	return nil
}

// admitted returns the actions that write w in an admission's transaction:
// a Delete of each counter, a Put of the journal entry if absent.
func (s *Store) admitted(k sesame.BaseKey, w sesame.AdmissionWrites) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	for _, c := range w.Forget {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: attemptsKey(c)}})
	}
	if w.Journal != nil {
		if w.Journal.ID == "" {
			return nil, sesame.Invalid("id", "L'identifiant de l'entrée du journal est obligatoire.")
		}
		put, err := s.putNew(s.newJournalRecord(k, *w.Journal))
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	return items, nil
}

// OpenSession is AdmitSession without anything more to write.
func (s *Store) OpenSession(ctx context.Context, x sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	return s.AdmitSession(ctx, x, p, sesame.AdmissionWrites{}, now)
}

// readSeat reads the user's HOLDER and the pool's COUNT in one consistent
// BatchGetItem, or, on the first try of an admission, takes them from the
// sign-in's hint when there is one (a read that guides the transaction,
// whose conditions decide).
func (s *Store) readSeat(ctx context.Context, seat sesame.SeatKey, login, id string, hint *sesame.SeatHint, attempt int) (holderRecord, countRecord, bool, error) {
	var (
		h holderRecord
		c countRecord
	)
	if attempt == 0 && hint != nil && (hint.Holder == nil || hint.Holder.Session != id) {
		c.N = int64(hint.Count)
		if hint.Holder == nil {
			return h, c, false, nil
		}
		l := hint.Holder
		h = holderRecord{UAI: string(l.UAI), Year: string(l.Year), Pool: string(l.Pool), Login: l.Login, Session: l.Session,
			AcquiredAt: nanos(l.AcquiredAt)}
		return h, c, true, nil
	}
	found, _, err := s.getPair(ctx, holderKey(seat, login), &h, countKey(seat), &c)
	return h, c, found, err
}

// raisePeak is the update that raises the pool's usage peak of day to
// held, on condition that it is missing or lower (see NoteUsage).
func (s *Store) raisePeak(seat sesame.SeatKey, day string, held int) (*types.Update, error) {
	peak := expression.Name("peak")
	cond := expression.AttributeNotExists(peak).Or(peak.LessThan(expression.Value(held)))
	return s.update(key(usagePK(sesame.BaseKey{UAI: seat.UAI, Year: seat.Year}), usageSK(day, seat.Pool)),
		expression.Set(expression.Name("day"), expression.Value(day)).Set(expression.Name("pool"), expression.Value(string(seat.Pool))).
			Set(peak, expression.Value(held)), &cond)
}
