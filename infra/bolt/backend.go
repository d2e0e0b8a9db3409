package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// The throttling counters and the deployment's secrets, which make the
// Store a sesame.Backend.

var _ sesame.Backend = (*Store)(nil)

type attemptsRec struct {
	Key         string    `json:"key"`
	Failures    int       `json:"failures"`
	WindowStart time.Time `json:"windowStart"`
	LockedUntil time.Time `json:"lockedUntil"`
	Version     int64     `json:"version"`
}

func toAttemptsRec(a sesame.Attempts) attemptsRec {
	return attemptsRec{Key: a.Key, Failures: a.Failures, WindowStart: a.WindowStart.UTC(),
		LockedUntil: a.LockedUntil.UTC(), Version: a.Version}
}

func (r attemptsRec) domain() sesame.Attempts {
	return sesame.Attempts{Key: r.Key, Failures: r.Failures, WindowStart: r.WindowStart,
		LockedUntil: r.LockedUntil, Version: r.Version}
}

func attemptsWhat() string { return "Le compteur de tentatives de connexion" }

// GetAttempts returns the counter under key.
func (s *Store) GetAttempts(ctx context.Context, key string) (sesame.Attempts, error) {
	var r attemptsRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		ok, err := load(tx.Bucket(bucketAttempts), []byte(key), &r)
		if err == nil && !ok {
			err = sesame.NotFound(attemptsWhat())
		}
		return err
	})
	if err != nil {
		return sesame.Attempts{}, fmt.Errorf("get attempts: %w", err)
	}
	return r.domain(), nil
}

// PutAttempts writes a if the stored Version (0 when none) equals
// a.Version, and returns it with Version+1.
func (s *Store) PutAttempts(ctx context.Context, a sesame.Attempts) (sesame.Attempts, error) {
	var out attemptsRec
	// Shared with concurrent writes (see batch): a sign-in waits on it.
	err := s.batch(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAttempts)
		var cur attemptsRec
		if _, err := load(b, []byte(a.Key), &cur); err != nil {
			return err
		}
		if cur.Version != a.Version {
			return sesame.Conflict(attemptsWhat())
		}
		next := a // a batch may run this again: a stays as given
		next.Version++
		out = toAttemptsRec(next)
		return store(b, []byte(a.Key), out)
	})
	if err != nil {
		return sesame.Attempts{}, fmt.Errorf("put attempts: %w", err)
	}
	return out.domain(), nil
}

// DeleteAttempts forgets the counter under key.
func (s *Store) DeleteAttempts(ctx context.Context, key string) error {
	err := s.batch(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAttempts).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete attempts: %w", err)
	}
	return nil
}

// Secret returns the secret name, storing fresh first when there is none.
func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	var out []byte
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		if v := b.Get([]byte(name)); v != nil {
			out = bytes.Clone(v) // v lives only as long as the transaction
			return nil
		}
		if len(fresh) == 0 {
			return sesame.Invalid("secret", "Le secret « %s » ne peut pas être vide.", name)
		}
		out = bytes.Clone(fresh)
		return b.Put([]byte(name), out)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return out, nil
}
