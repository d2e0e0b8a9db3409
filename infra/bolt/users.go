package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// French names of what a message is about; the domain's Conflict agrees
// with a masculine subject, hence "L'import" rather than "La récupération".
func userWhat(login string) string { return "L'utilisateur « " + login + " »" }
func profileWhat(id string) string { return "Le groupe ou profil « " + id + " »" }
func importWhat(id string) string  { return "L'import « " + id + " »" }

func userExists(login string) error   { return sesame.Exists(userWhat(login)) }
func userNotFound(login string) error { return sesame.NotFound(userWhat(login)) }
func userConflict(login string) error { return sesame.Conflict(userWhat(login)) }

func profileExists(id string) error   { return sesame.Exists(profileWhat(id)) }
func profileNotFound(id string) error { return sesame.NotFound(profileWhat(id)) }
func profileConflict(id string) error { return sesame.Conflict(profileWhat(id)) }

func importExists(id string) error   { return sesame.Exists(importWhat(id)) }
func importNotFound(id string) error { return sesame.NotFound(importWhat(id)) }
func importConflict(id string) error { return sesame.Conflict(importWhat(id)) }

// CreateUser adds u with Version 1.
func (s *Store) CreateUser(ctx context.Context, k sesame.BaseKey, u sesame.User) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		key := []byte(u.Key())
		if users.Get(key) != nil {
			return userExists(u.Login)
		}
		u.Version = 1
		return store(users, key, toUserRec(u))
	})
	if err != nil {
		return fmt.Errorf("create user %s in %s: %w", u.Login, k, err)
	}
	return nil
}

// GetUser returns the user with this login, in any case.
func (s *Store) GetUser(ctx context.Context, k sesame.BaseKey, login string) (sesame.User, error) {
	var r userRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		ok, err := load(users, []byte(sesame.LoginKey(login)), &r)
		if err == nil && !ok {
			err = userNotFound(login)
		}
		return err
	})
	if err != nil {
		return sesame.User{}, fmt.Errorf("get user %s in %s: %w", login, k, err)
	}
	return r.domain(), nil
}

// UpdateUser writes u if the stored Version equals u.Version.
func (s *Store) UpdateUser(ctx context.Context, k sesame.BaseKey, u sesame.User) (sesame.User, error) {
	var out userRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		key := []byte(u.Key())
		var cur userRec
		ok, err := load(users, key, &cur)
		switch {
		case err != nil:
			return err
		case !ok:
			return userNotFound(u.Login)
		case cur.Version != u.Version:
			return userConflict(u.Login)
		}
		u.Version++
		out = toUserRec(u)
		return store(users, key, out)
	})
	if err != nil {
		return sesame.User{}, fmt.Errorf("update user %s in %s: %w", u.Login, k, err)
	}
	return out.domain(), nil
}

// ListUsers returns a page of users in login-key order: a cursor walks the
// users from the prefix (or the cursor q.After) and keeps those that pass
// q's filters (sesame.User.Matches), reading one more than the page to
// know whether another follows.
func (s *Store) ListUsers(ctx context.Context, k sesame.BaseKey, q sesame.UserQuery) (sesame.UserPage, error) {
	page := sesame.UserPage{Users: []sesame.User{}}
	size := q.PageSize()
	prefix := []byte(strings.ToLower(q.Prefix))
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		c := users.Cursor()
		start := prefix
		after := []byte(q.After)
		if q.After != "" && bytes.Compare(after, prefix) >= 0 {
			start = after
		}
		key, v := c.Seek(start)
		if q.After != "" && bytes.Equal(key, after) {
			key, v = c.Next()
		}
		var last []byte
		for ; key != nil && bytes.HasPrefix(key, prefix); key, v = c.Next() {
			if v == nil {
				continue
			}
			var r userRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode user %q: %w", key, err)
			}
			u := r.domain()
			if !u.Matches(q) {
				continue
			}
			if len(page.Users) == size {
				page.Next = string(last)
				break
			}
			page.Users = append(page.Users, u)
			last = append(last[:0], key...)
		}
		return nil
	})
	if err != nil {
		return sesame.UserPage{}, fmt.Errorf("list users of %s: %w", k, err)
	}
	return page, nil
}

// CreateProfile adds p with Version 1.
func (s *Store) CreateProfile(ctx context.Context, k sesame.BaseKey, p sesame.Profile) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		if profiles.Get([]byte(p.ID)) != nil {
			return profileExists(p.ID)
		}
		p.Version = 1
		return store(profiles, []byte(p.ID), toProfileRec(p))
	})
	if err != nil {
		return fmt.Errorf("create profile %s in %s: %w", p.ID, k, err)
	}
	return nil
}

// GetProfile returns the profile with this ID.
func (s *Store) GetProfile(ctx context.Context, k sesame.BaseKey, id string) (sesame.Profile, error) {
	var r profileRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		ok, err := load(profiles, []byte(id), &r)
		if err == nil && !ok {
			err = profileNotFound(id)
		}
		return err
	})
	if err != nil {
		return sesame.Profile{}, fmt.Errorf("get profile %s in %s: %w", id, k, err)
	}
	return r.domain(), nil
}

// UpdateProfile writes p if the stored Version equals p.Version.
func (s *Store) UpdateProfile(ctx context.Context, k sesame.BaseKey, p sesame.Profile) (sesame.Profile, error) {
	var out profileRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		var cur profileRec
		ok, err := load(profiles, []byte(p.ID), &cur)
		switch {
		case err != nil:
			return err
		case !ok:
			return profileNotFound(p.ID)
		case cur.Version != p.Version:
			return profileConflict(p.ID)
		}
		p.Version++
		out = toProfileRec(p)
		return store(profiles, []byte(p.ID), out)
	})
	if err != nil {
		return sesame.Profile{}, fmt.Errorf("update profile %s in %s: %w", p.ID, k, err)
	}
	return out.domain(), nil
}

// ListProfiles returns the base's profiles, ordered by SortProfiles.
func (s *Store) ListProfiles(ctx context.Context, k sesame.BaseKey) ([]sesame.Profile, error) {
	out := []sesame.Profile{}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		return forEachPrefix(profiles, nil, func(key, v []byte) error {
			var r profileRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode profile %q: %w", key, err)
			}
			out = append(out, r.domain())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list profiles of %s: %w", k, err)
	}
	sesame.SortProfiles(out)
	return out, nil
}

// DeleteProfile removes profile id if its stored Version is version.
func (s *Store) DeleteProfile(ctx context.Context, k sesame.BaseKey, id string, version int64) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		profiles, err := baseSub(tx, k, bucketProfiles)
		if err != nil {
			return err
		}
		var cur profileRec
		ok, err := load(profiles, []byte(id), &cur)
		switch {
		case err != nil:
			return err
		case !ok:
			return profileNotFound(id)
		case cur.Version != version:
			return profileConflict(id)
		}
		return profiles.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete profile %s in %s: %w", id, k, err)
	}
	return nil
}

// CreateImport records a new import job, with Version 1.
func (s *Store) CreateImport(ctx context.Context, k sesame.BaseKey, j sesame.ImportJob) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		imports, err := baseSub(tx, k, bucketImports)
		if err != nil {
			return err
		}
		if imports.Get([]byte(j.ID)) != nil {
			return importExists(j.ID)
		}
		j.Version = 1
		return store(imports, []byte(j.ID), toImportRec(j))
	})
	if err != nil {
		return fmt.Errorf("create import %s in %s: %w", j.ID, k, err)
	}
	return nil
}

// GetImport returns an import job.
func (s *Store) GetImport(ctx context.Context, k sesame.BaseKey, id string) (sesame.ImportJob, error) {
	var r importRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		imports, err := baseSub(tx, k, bucketImports)
		if err != nil {
			return err
		}
		ok, err := load(imports, []byte(id), &r)
		if err == nil && !ok {
			err = importNotFound(id)
		}
		return err
	})
	if err != nil {
		return sesame.ImportJob{}, fmt.Errorf("get import %s in %s: %w", id, k, err)
	}
	return r.domain(), nil
}

// UpdateImport writes j if the stored Version equals j.Version.
func (s *Store) UpdateImport(ctx context.Context, k sesame.BaseKey, j sesame.ImportJob) (sesame.ImportJob, error) {
	var out importRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		imports, err := baseSub(tx, k, bucketImports)
		if err != nil {
			return err
		}
		var cur importRec
		ok, err := load(imports, []byte(j.ID), &cur)
		switch {
		case err != nil:
			return err
		case !ok:
			return importNotFound(j.ID)
		case cur.Version != j.Version:
			return importConflict(j.ID)
		}
		j.Version++
		out = toImportRec(j)
		return store(imports, []byte(j.ID), out)
	})
	if err != nil {
		return sesame.ImportJob{}, fmt.Errorf("update import %s in %s: %w", j.ID, k, err)
	}
	return out.domain(), nil
}
