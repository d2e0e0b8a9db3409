package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// Identity providers, the accounts linked to an identity, and the
// single-use proofs already taken. Their top-level buckets are made by the
// first write that needs them (files made before them have none):
//
//	providers/<uai>/<id>            provider (JSON; the client secret in clear:
//	                                the file is the single server's, mode 0600)
//	assertions/<uai>/<id>\x00<proof> expiry (unix ns, 8 bytes big-endian)
//	assertions-expiry/<expiry 8 bytes><key of the proof>  ""
//
// A use of a proof first removes the proofs that expired (at most
// maxSweep), oldest first, so the bucket holds only the live ones.

var (
	bucketProviders        = []byte("providers")
	bucketAssertions       = []byte("assertions")
	bucketAssertionsExpiry = []byte("assertions-expiry")
)

// maxSweep bounds the expired proofs one use removes.
const maxSweep = 64

type providerRec struct {
	ID           string    `json:"id"`
	Protocol     string    `json:"protocol"`
	DisplayName  string    `json:"displayName"`
	Issuer       string    `json:"issuer,omitempty"`
	ClientID     string    `json:"clientId,omitempty"`
	ClientSecret string    `json:"clientSecret,omitempty"`
	MetadataURL  string    `json:"metadataUrl,omitempty"`
	MetadataXML  string    `json:"metadataXml,omitempty"`
	CASURL       string    `json:"casUrl,omitempty"`
	Claim        string    `json:"claim"`
	Kinds        []string  `json:"kinds"`
	MatchLogin   bool      `json:"matchLogin,omitempty"`
	SingleLogout bool      `json:"singleLogout,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Version      int64     `json:"version"`
}

func toProviderRec(p sesame.IdentityProvider) providerRec {
	return providerRec{ID: p.ID, Protocol: string(p.Protocol), DisplayName: p.DisplayName, Issuer: p.Issuer,
		ClientID: p.ClientID, ClientSecret: p.ClientSecret.Reveal(), MetadataURL: p.MetadataURL, MetadataXML: p.MetadataXML,
		CASURL: p.CASURL, Claim: p.Claim, Kinds: sesame.KindNames(p.Kinds), MatchLogin: p.MatchLogin, SingleLogout: p.SingleLogout,
		UpdatedAt: p.UpdatedAt.UTC(), Version: p.Version}
}

func (r providerRec) domain() sesame.IdentityProvider {
	return sesame.IdentityProvider{ID: r.ID, Protocol: sesame.Protocol(r.Protocol), DisplayName: r.DisplayName,
		Issuer: r.Issuer, ClientID: r.ClientID, ClientSecret: sesame.Secret(r.ClientSecret), MetadataURL: r.MetadataURL,
		MetadataXML: r.MetadataXML, CASURL: r.CASURL, Claim: r.Claim, Kinds: sesame.KindsNamed(r.Kinds), MatchLogin: r.MatchLogin,
		SingleLogout: r.SingleLogout, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

func providerWhat(id string) string { return "Le service de connexion « " + id + " »" }

// schoolProviders returns the providers bucket of school uai; nil in a
// read transaction when there is none yet.
func schoolProviders(tx *bbolt.Tx, uai sesame.UAI) (*bbolt.Bucket, error) {
	if !tx.Writable() {
		return sub(tx.Bucket(bucketProviders), []byte(uai)), nil
	}
	top, err := tx.CreateBucketIfNotExists(bucketProviders)
	if err != nil {
		return nil, err
	}
	return top.CreateBucketIfNotExists([]byte(uai))
}

// CreateProvider adds p with Version 1 to school uai.
func (s *Store) CreateProvider(ctx context.Context, uai sesame.UAI, p sesame.IdentityProvider) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketSchools).Get([]byte(uai)) == nil {
			return sesame.NotFound("L'établissement " + string(uai))
		}
		b, err := schoolProviders(tx, uai)
		if err != nil {
			return err
		}
		if b.Get([]byte(p.ID)) != nil {
			return sesame.Exists(providerWhat(p.ID))
		}
		p.Version = 1
		return store(b, []byte(p.ID), toProviderRec(p))
	})
	if err != nil {
		return fmt.Errorf("create provider %s of %s: %w", p.ID, uai, err)
	}
	return nil
}

// GetProvider returns the provider.
func (s *Store) GetProvider(ctx context.Context, k sesame.ProviderKey) (sesame.IdentityProvider, error) {
	var r providerRec
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b, _ := schoolProviders(tx, k.UAI)
		ok, err := load(b, []byte(k.ID), &r)
		if err == nil && !ok {
			err = sesame.NotFound(providerWhat(k.ID))
		}
		return err
	})
	if err != nil {
		return sesame.IdentityProvider{}, fmt.Errorf("get provider %s of %s: %w", k.ID, k.UAI, err)
	}
	return r.domain(), nil
}

// UpdateProvider replaces the provider if its stored Version is p.Version.
func (s *Store) UpdateProvider(ctx context.Context, uai sesame.UAI, p sesame.IdentityProvider) (sesame.IdentityProvider, error) {
	var out providerRec
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b, err := schoolProviders(tx, uai)
		if err != nil {
			return err
		}
		var cur providerRec
		if ok, err := load(b, []byte(p.ID), &cur); err != nil {
			return err
		} else if !ok {
			return sesame.NotFound(providerWhat(p.ID))
		}
		if cur.Version != p.Version {
			return sesame.Conflict(providerWhat(p.ID))
		}
		p.Version++
		out = toProviderRec(p)
		return store(b, []byte(p.ID), out)
	})
	if err != nil {
		return sesame.IdentityProvider{}, fmt.Errorf("update provider %s of %s: %w", p.ID, uai, err)
	}
	return out.domain(), nil
}

// ListProviders returns the school's providers by ID.
func (s *Store) ListProviders(ctx context.Context, uai sesame.UAI) ([]sesame.IdentityProvider, error) {
	out := []sesame.IdentityProvider{}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b, _ := schoolProviders(tx, uai)
		return forEachPrefix(b, nil, func(_, v []byte) error {
			var r providerRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode provider: %w", err)
			}
			out = append(out, r.domain())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list providers of %s: %w", uai, err)
	}
	return out, nil
}

// DeleteProvider removes the provider if its stored Version is version.
func (s *Store) DeleteProvider(ctx context.Context, k sesame.ProviderKey, version int64) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b, err := schoolProviders(tx, k.UAI)
		if err != nil {
			return err
		}
		v, err := versionOf(b, k.ID)
		if err != nil {
			return err
		}
		if v != version {
			return sesame.Conflict(providerWhat(k.ID))
		}
		return b.Delete([]byte(k.ID))
	})
	if err != nil {
		return fmt.Errorf("delete provider %s of %s: %w", k.ID, k.UAI, err)
	}
	return nil
}

func versionOf(b *bbolt.Bucket, id string) (int64, error) {
	var cur providerRec
	if ok, err := load(b, []byte(id), &cur); err != nil {
		return 0, err
	} else if !ok {
		return 0, sesame.NotFound(providerWhat(id))
	}
	return cur.Version, nil
}

// FindUsersByENTID scans the base's users, skipping without decoding those
// whose record cannot hold that ENTID: a base of a few thousand accounts
// is read in a few milliseconds, inside one read transaction.
func (s *Store) FindUsersByENTID(ctx context.Context, k sesame.BaseKey, entID string) ([]sesame.User, error) {
	var out []sesame.User
	quoted, err := json.Marshal(entID)
	if err != nil {
		return nil, fmt.Errorf("find ent id: %w", err)
	}
	needle := append([]byte(`"entId":`), quoted...)
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		users, err := baseSub(tx, k, bucketUsers)
		if err != nil {
			return err
		}
		return forEachPrefix(users, nil, func(_, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var r userRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode user: %w", err)
			}
			if r.ENTID == entID {
				out = append(out, r.domain())
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("find ent id in %s: %w", k, err)
	}
	return out, nil
}

// UseAssertion records proof id of provider k until expires, unless a live
// record of it exists.
func (s *Store) UseAssertion(ctx context.Context, k sesame.ProviderKey, id string, expires, now time.Time) error {
	key := []byte(k.ID + "\x00" + id)
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketAssertions)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucketIfNotExists(bucketAssertionsExpiry)
		if err != nil {
			return err
		}
		if err := sweepAssertions(top, idx, now); err != nil {
			return err
		}
		b, err := top.CreateBucketIfNotExists([]byte(k.UAI))
		if err != nil {
			return err
		}
		if v := b.Get(key); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= now.UnixNano() {
			return sesame.Exists("Cette preuve d'identité")
		}
		exp := binary.BigEndian.AppendUint64(nil, uint64(expires.UnixNano()))
		if err := b.Put(key, exp); err != nil {
			return err
		}
		return idx.Put(slices.Concat(exp, []byte(k.UAI), []byte{0}, key), nil)
	})
	if err != nil {
		return fmt.Errorf("use assertion of %s/%s: %w", k.UAI, k.ID, err)
	}
	return nil
}

// sweepAssertions removes up to maxSweep proofs expired before now, oldest
// first.
func sweepAssertions(top, idx *bbolt.Bucket, now time.Time) error {
	c := idx.Cursor()
	for range maxSweep {
		ik, _ := c.First()
		if ik == nil || int64(binary.BigEndian.Uint64(ik[:8])) >= now.UnixNano() {
			return nil
		}
		uai, key, _ := bytes.Cut(ik[8:], []byte{0})
		if b := top.Bucket(uai); b != nil {
			if v := b.Get(key); bytes.Equal(v, ik[:8]) {
				if err := b.Delete(key); err != nil {
					return err
				}
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
