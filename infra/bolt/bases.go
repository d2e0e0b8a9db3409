package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

func schoolNotFound(uai sesame.UAI) error {
	return sesame.NotFound("L'établissement " + string(uai))
}

// CreateBase creates the base, its content and, when missing, its school, in
// one transaction.
func (s *Store) CreateBase(ctx context.Context, sc sesame.School, b sesame.Base, c sesame.BaseContent) error {
	if sc.UAI != b.UAI {
		return fmt.Errorf("create base %s: %w", b.BaseKey, sesame.Invalid("uai",
			"La base %s ne peut pas être créée pour l'établissement %s : elle appartient à l'établissement %s.", b.Year, sc.UAI, b.UAI))
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		bases := tx.Bucket(bucketBases)
		if baseBucket(tx, b.BaseKey) != nil {
			return sesame.Exists(fmt.Sprintf("La base %s de l'établissement %s", b.Year, b.UAI))
		}
		schools := tx.Bucket(bucketSchools)
		if schools.Get([]byte(sc.UAI)) == nil {
			sc.CurrentYear = b.Year
			if err := store(schools, []byte(sc.UAI), toSchoolRec(sc)); err != nil {
				return err
			}
		}
		// A leftover bucket without meta (never written by this package)
		// is replaced.
		if bases.Bucket(baseKey(b.BaseKey)) != nil {
			if err := bases.DeleteBucket(baseKey(b.BaseKey)); err != nil {
				return err
			}
		}
		bb, err := bases.CreateBucket(baseKey(b.BaseKey))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketUsers, bucketProfiles, bucketImports, bucketSeats, bucketOpenIndex} {
			if _, err := bb.CreateBucket(name); err != nil {
				return err
			}
		}
		if b.Version == 0 {
			b.Version = 1
		}
		if err := store(bb, keyMeta, toBaseRec(b)); err != nil {
			return err
		}
		profiles := bb.Bucket(bucketProfiles)
		for _, p := range c.Profiles {
			if profiles.Get([]byte(p.ID)) != nil {
				return profileExists(p.ID)
			}
			if p.Version == 0 {
				p.Version = 1
			}
			if err := store(profiles, []byte(p.ID), toProfileRec(p)); err != nil {
				return err
			}
		}
		users := bb.Bucket(bucketUsers)
		for _, u := range c.Users {
			if users.Get([]byte(u.Key())) != nil {
				return userExists(u.Login)
			}
			if u.Version == 0 {
				u.Version = 1
			}
			if err := store(users, []byte(u.Key()), toUserRec(u)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create base %s: %w", b.BaseKey, err)
	}
	return nil
}

// GetSchool returns the school.
func (s *Store) GetSchool(ctx context.Context, uai sesame.UAI) (sesame.School, error) {
	var r schoolRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		ok, err := load(tx.Bucket(bucketSchools), []byte(uai), &r)
		if err == nil && !ok {
			err = schoolNotFound(uai)
		}
		return err
	})
	if err != nil {
		return sesame.School{}, fmt.Errorf("get school %s: %w", uai, err)
	}
	return r.domain(), nil
}

// SetCurrentYear makes base k the current one of its school.
func (s *Store) SetCurrentYear(ctx context.Context, k sesame.BaseKey) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if _, err := needBase(tx, k); err != nil {
			return err
		}
		schools := tx.Bucket(bucketSchools)
		var r schoolRec
		ok, err := load(schools, []byte(k.UAI), &r)
		if err != nil {
			return err
		}
		if !ok {
			return schoolNotFound(k.UAI)
		}
		r.CurrentYear = string(k.Year)
		return store(schools, []byte(k.UAI), r)
	})
	if err != nil {
		return fmt.Errorf("set current year %s: %w", k, err)
	}
	return nil
}

// GetBase returns base k.
func (s *Store) GetBase(ctx context.Context, k sesame.BaseKey) (sesame.Base, error) {
	var r baseRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		bb, err := needBase(tx, k)
		if err != nil {
			return err
		}
		_, err = load(bb, keyMeta, &r)
		return err
	})
	if err != nil {
		return sesame.Base{}, fmt.Errorf("get base %s: %w", k, err)
	}
	return r.domain(), nil
}

// ListBases returns the school's bases, oldest year first. Base buckets are
// named "UAI/YEAR", and years ("2026-2027") sort as text in time order.
func (s *Store) ListBases(ctx context.Context, uai sesame.UAI) ([]sesame.Base, error) {
	out := []sesame.Base{}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		bases := tx.Bucket(bucketBases)
		prefix := []byte(string(uai) + "/")
		c := bases.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if v != nil {
				continue
			}
			var r baseRec
			ok, err := load(bases.Bucket(k), keyMeta, &r)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, r.domain())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bases %s: %w", uai, err)
	}
	return out, nil
}

// SetLicense replaces the base's licence and bumps its Version.
func (s *Store) SetLicense(ctx context.Context, k sesame.BaseKey, l sesame.License, now time.Time) (sesame.Base, error) {
	var r baseRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		bb, err := needBase(tx, k)
		if err != nil {
			return err
		}
		if _, err := load(bb, keyMeta, &r); err != nil {
			return err
		}
		b := r.domain()
		b.License = l
		b.Version++
		r = toBaseRec(b)
		return store(bb, keyMeta, r)
	})
	if err != nil {
		return sesame.Base{}, fmt.Errorf("set license %s: %w", k, err)
	}
	return r.domain(), nil
}

// MarkLegacyHashes sets the base's LegacyHashes and raises its
// LegacyCost, leaving its Version.
func (s *Store) MarkLegacyHashes(ctx context.Context, k sesame.BaseKey, cost int) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		bb, err := needBase(tx, k)
		if err != nil {
			return err
		}
		var r baseRec
		if _, err := load(bb, keyMeta, &r); err != nil {
			return err
		}
		r.Legacy, r.LegacyCost = true, max(r.LegacyCost, cost)
		return store(bb, keyMeta, r)
	})
	if err != nil {
		return fmt.Errorf("mark legacy hashes of %s: %w", k, err)
	}
	return nil
}
