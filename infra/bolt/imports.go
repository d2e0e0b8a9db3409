package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/sesame-ecole/sesame"
)

// version returns the Version stored under key in b (0 when absent).
func version(b *bbolt.Bucket, key []byte) (int64, error) {
	var r struct {
		Version int64 `json:"version"`
	}
	ok, err := load(b, key, &r)
	if err != nil || !ok {
		return 0, err
	}
	return r.Version, nil
}

// nextVersion is the Version a write stores: 1 for a creation, one more
// than the version it replaces otherwise.
func nextVersion(create bool, v int64) int64 {
	if create {
		return 1
	}
	return v + 1
}

// WriteImport applies ws and the job j in one transaction, after checking
// every condition.
func (s *Store) WriteImport(ctx context.Context, k sesame.BaseKey, ws []sesame.ImportWrite, j sesame.ImportJob) (sesame.ImportJob, error) {
	if len(ws) > sesame.MaxImportWrites {
		return sesame.ImportJob{}, fmt.Errorf("write import %s: %w", j.ID,
			sesame.Invalid("writes", "Trop d'écritures en une étape (%d, au plus %d).", len(ws), sesame.MaxImportWrites))
	}
	var out importRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		imports, err := baseSub(tx, k, bucketImports)
		if err != nil {
			return err
		}
		type put struct {
			b   *bbolt.Bucket
			key []byte
			rec any
		}
		var puts []put
		conflict := &sesame.WriteConflict{}
		for i, w := range ws {
			var (
				b    = users
				key  []byte
				want int64
				rec  any
			)
			switch {
			case w.User != nil:
				u := *w.User
				key, want = []byte(u.Key()), u.Version
				u.Version = nextVersion(w.Create, u.Version)
				rec = toUserRec(u)
			case w.Profile != nil:
				p := *w.Profile
				b, key, want = profiles, []byte(p.ID), p.Version
				p.Version = nextVersion(w.Create, p.Version)
				rec = toProfileRec(p)
			default:
				return sesame.Invalid("writes", "Une écriture ne porte ni utilisateur ni profil.")
			}
			have, err := version(b, key)
			if err != nil {
				return err
			}
			if (w.Create && have != 0) || (!w.Create && (have == 0 || have != want)) {
				conflict.Failed = append(conflict.Failed, i)
				continue
			}
			puts = append(puts, put{b, key, rec})
		}
		have, err := version(imports, []byte(j.ID))
		if err != nil {
			return err
		}
		if have != j.Version {
			conflict.Job = true
		}
		if conflict.Job || len(conflict.Failed) > 0 {
			return conflict
		}
		for _, p := range puts {
			if err := store(p.b, p.key, p.rec); err != nil {
				return err
			}
		}
		j.Version++
		out = toImportRec(j)
		return store(imports, []byte(j.ID), out)
	})
	if err != nil {
		return sesame.ImportJob{}, fmt.Errorf("write import %s in %s: %w", j.ID, k, err)
	}
	return out.domain(), nil
}
