package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Collect removes sessions that ended or expired before now − keep (with
// the lease they still name, lapsed by then), throttling counters whose
// window started and lock ended before it, and journal entries whose
// ExpiresAt is before now (found through each base's journal-expiry index;
// an entry without ExpiresAt stays). The file keeps its size (bbolt reuses
// the freed pages).
func (s *Store) Collect(ctx context.Context, now time.Time, keep time.Duration) (int, error) {
	before := now.Add(-keep)
	n := 0
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		var old []sessionRec
		err := sessions.ForEach(func(k, v []byte) error {
			var r sessionRec
			if _, err := load(sessions, k, &r); err != nil {
				return err
			}
			x := r.domain()
			if (!x.Open() && x.EndedAt.Before(before)) || x.ExpiresAt.Before(before) {
				old = append(old, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range old {
			x := r.domain()
			if bb := baseBucket(tx, x.Base()); bb != nil {
				if err := bb.Bucket(bucketOpenIndex).Delete([]byte(x.ID)); err != nil {
					return err
				}
				if x.Pool != "" {
					if pb := poolBucket(bb, x.Pool); pb != nil {
						l, ok, err := getLease(pb, x.Login)
						if err != nil {
							return err
						}
						if ok && l.Session == x.ID && !l.Live(before) {
							if err := pb.Delete([]byte(x.Login)); err != nil {
								return err
							}
						}
					}
				}
			}
			if err := sessions.Delete([]byte(x.ID)); err != nil {
				return err
			}
			n++
		}
		attempts := tx.Bucket(bucketAttempts)
		var stale [][]byte
		err = attempts.ForEach(func(k, _ []byte) error {
			var r attemptsRec
			if _, err := load(attempts, k, &r); err != nil {
				return err
			}
			if r.WindowStart.Before(before) && r.LockedUntil.Before(before) {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := attempts.Delete(k); err != nil {
				return err
			}
			n++
		}
		gone, err := collectJournal(tx, now)
		n += gone
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("collect before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
