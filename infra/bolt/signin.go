package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// ReadSignIn reads the school, the base, the user, the profile asked for
// and the throttling counters in one read transaction.
func (s *Store) ReadSignIn(ctx context.Context, q sesame.SignInQuery) (sesame.SignInRead, error) {
	var out sesame.SignInRead
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		out = sesame.SignInRead{}
		for _, key := range q.Counters {
			r := attemptsRec{Key: key}
			if _, err := load(tx.Bucket(bucketAttempts), []byte(key), &r); err != nil {
				return err
			}
			out.Counters = append(out.Counters, r.domain())
		}
		var sr schoolRec
		if ok, err := load(tx.Bucket(bucketSchools), []byte(q.UAI), &sr); err != nil || !ok {
			return err
		}
		school := sr.domain()
		out.School = &school
		year := q.Year
		if year == "" {
			year = school.CurrentYear
		}
		bb := baseBucket(tx, sesame.BaseKey{UAI: q.UAI, Year: year})
		if bb == nil {
			return nil
		}
		var (
			br baseRec
			ur userRec
			pr profileRec
		)
		if _, err := load(bb, keyMeta, &br); err != nil {
			return err
		}
		base := br.domain()
		out.Base = &base
		if ok, err := load(bb.Bucket(bucketUsers), []byte(sesame.LoginKey(q.Login)), &ur); err != nil {
			return err
		} else if ok {
			u := ur.domain()
			out.User = &u
		}
		if q.Profile != "" {
			if ok, err := load(bb.Bucket(bucketProfiles), []byte(q.Profile), &pr); err != nil {
				return err
			} else if ok {
				p := pr.domain()
				out.Profile = &p
			}
		}
		return nil
	})
	if err != nil {
		return sesame.SignInRead{}, fmt.Errorf("read sign-in %s: %w", q.UAI, err)
	}
	return out, nil
}

// OpenSession is AdmitSession without anything more to write.
func (s *Store) OpenSession(ctx context.Context, sess sesame.Session, p sesame.SeatPolicy, now time.Time) (sesame.Lease, error) {
	return s.AdmitSession(ctx, sess, p, sesame.AdmissionWrites{}, now)
}

// admitted writes what an admission leaves behind, in its transaction: the
// counters forgotten, the journal entry.
func admitted(tx *bbolt.Tx, k sesame.BaseKey, w sesame.AdmissionWrites) error {
	for _, key := range w.Forget {
		if err := tx.Bucket(bucketAttempts).Delete([]byte(key)); err != nil {
			return err
		}
	}
	if w.Journal == nil {
		return nil
	}
	return putJournal(tx, k, *w.Journal, func(raw []byte) (journalRec, error) {
		if raw != nil {
			return journalRec{}, sesame.Exists(journalWhat(w.Journal.ID))
		}
		return toJournalRec(*w.Journal), nil
	})
}
