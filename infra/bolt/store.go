package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Top-level buckets.
var (
	bucketSchools  = []byte("schools")
	bucketBases    = []byte("bases")
	bucketSessions = []byte("sessions")
	bucketAttempts = []byte("attempts")
	bucketSecrets  = []byte("secrets")
)

// Keys inside a base's bucket.
var (
	keyMeta         = []byte("meta")
	bucketUsers     = []byte("users")
	bucketProfiles  = []byte("profiles")
	bucketImports   = []byte("imports")
	bucketSeats     = []byte("seats")
	bucketOpenIndex = []byte("sessions")
	// Created by the first write that needs them (bases made before them
	// have none).
	bucketJournal       = []byte("journal")
	bucketJournalExpiry = []byte("journal-expiry")
	bucketUsage         = []byte("usage")
)

// DefaultTimeout is how long Open waits for the file lock held by another
// process before giving up.
const DefaultTimeout = 2 * time.Second

// ErrLocked is matched (errors.Is) by the error Open returns when another
// process holds the file: it is bbolt's timeout error.
var ErrLocked = bolterrors.ErrTimeout

// Store is a sesame.Store kept in one bbolt file. It is safe for concurrent
// use; bbolt serialises write transactions, so every decision taken inside
// one (seat admission above all) is exact.
type Store struct {
	db     *bbolt.DB
	group  *group // the group commit of batch
	txHook func(write, commit bool) error
	// The last decodings of what a request's session check reads (see
	// decoded).
	sessions *decoded[sessionRec]
	leases   *decoded[leaseRec] // a heartbeat's lease, by its session's ID
	bases    *decoded[baseRec]
	users    *decoded[userRec]
	profiles *decoded[profileRec]
}

var _ sesame.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	timeout time.Duration
	noSync  bool
	mode    os.FileMode
	txHook  func(write, commit bool) error
}

// WithTimeout sets how long Open waits for another process to release the
// file (DefaultTimeout otherwise). Zero or less waits forever.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithNoSync skips fsync at each commit: faster, but a crash of the machine
// may lose the last transactions. For tests and demos only.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithFileMode sets the permissions of a new file (0600 otherwise).
func WithFileMode(m os.FileMode) Option { return func(o *options) { o.mode = m } }

// WithTxHook calls hook at the boundary of every transaction: before it
// begins (commit false), and for a write just before its commit (commit
// true). An error from the first means nothing is done; from the second,
// the transaction's writes are rolled back. Either is returned as the
// transaction's error. It is how tests inject faults at the transaction
// boundary (see infra/faults); see also Unhooked.
func WithTxHook(hook func(write, commit bool) error) Option {
	return func(o *options) { o.txHook = hook }
}

// Open opens (or creates) the bbolt file at path, creating its parent
// directories, and prepares the top-level buckets. When another process
// has the file open, it fails after the timeout with a French message; the
// error matches ErrLocked.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultTimeout, mode: 0o600}
	for _, opt := range opts {
		opt(&o)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, &sesame.Error{Code: sesame.CodeInternal,
				Message: fmt.Sprintf("Impossible de créer le dossier de la base « %s ».", dir), Err: err}
		}
	}
	timeout := o.timeout
	if timeout < 0 {
		timeout = 0
	}
	db, err := bbolt.Open(path, o.mode, &bbolt.Options{Timeout: timeout, NoSync: o.noSync, FreelistType: bbolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &sesame.Error{Code: sesame.CodeInternal,
			Message: fmt.Sprintf("La base « %s » est déjà ouverte par un autre processus (attente de %s) : arrêtez-le, ou choisissez un autre fichier.",
				path, sesame.FrenchDuration(timeout)),
			Err: err}
	}
	if err != nil {
		return nil, &sesame.Error{Code: sesame.CodeInternal,
			Message: fmt.Sprintf("Impossible d'ouvrir la base « %s ».", path), Err: err}
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketSchools, bucketBases, bucketSessions, bucketAttempts, bucketSecrets} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: prepare %s: %w", path, err)
	}
	return &Store{db: db, group: newGroup(db), txHook: o.txHook,
		sessions: newDecoded[sessionRec](4096), leases: newDecoded[leaseRec](4096), bases: newDecoded[baseRec](64),
		users: newDecoded[userRec](4096), profiles: newDecoded[profileRec](1024)}, nil
}

// Unhooked returns a Store on the same open file without the hook of
// WithTxHook: tests read and check through it what the hooked one wrote.
// Closing either closes the file.
func (s *Store) Unhooked() *Store {
	return &Store{db: s.db, group: s.group, sessions: s.sessions, leases: s.leases, bases: s.bases, users: s.users, profiles: s.profiles}
}

// hook runs the transaction hook, if any.
func (s *Store) hook(write, commit bool) error {
	if s.txHook == nil {
		return nil
	}
	return s.txHook(write, commit)
}

// commitHook is the hook at a write's commit, or nil (see group).
func (s *Store) commitHook() func() error {
	if s.txHook == nil {
		return nil
	}
	return func() error { return s.hook(true, true) }
}

// hooked wraps a write transaction's fn with the hook at its commit.
func (s *Store) hooked(fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	if s.txHook == nil {
		return fn
	}
	return func(tx *bbolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.hook(true, true)
	}
}

// Close commits the writes under way and closes the file.
func (s *Store) Close() error {
	s.group.close()
	return s.db.Close()
}

// Path returns the path of the file.
func (s *Store) Path() string { return s.db.Path() }

// writing is what every write does before its transaction: check ctx,
// then run the hook at a write's start.
func (s *Store) writing(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.hook(true, false)
}

// update runs fn in a write transaction, after checking ctx.
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := s.writing(ctx); err != nil {
		return err
	}
	defer s.group.hurry()() // a transaction of heartbeats held open ends now
	return s.db.Update(s.hooked(fn))
}

// batch runs fn in a write transaction shared with the writes queued
// while the previous one committed (one commit and one sync for all; see
// group): for writes many requests make at once, heartbeats, the journal
// and the seat usage. fn may run twice (alone, when another fn of the
// batch failed), so it must decide everything inside the transaction.
func (s *Store) batch(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := s.writing(ctx); err != nil {
		return err
	}
	return s.group.do(fn, s.commitHook())
}

// beat is batch for a heartbeat's write to session id, whose loss is
// harmless: it returns once fn ran in the write transaction, before that
// transaction's commit ends, and the transaction may be held open a moment
// for more heartbeats (see group). Until that commit ends, the reads of
// session id and the listings of sessions and leases wait for it
// (viewSettled), and every other write too (update hurries it).
//
// again does to the transaction what fn does, without touching what fn
// gives its caller: it runs after that caller was answered, when a
// transaction held open is rolled back and its heartbeats run again.
func (s *Store) beat(ctx context.Context, id string, fn, again func(*bbolt.Tx) error) error {
	if err := s.writing(ctx); err != nil {
		return err
	}
	return s.group.early(id, fn, again, s.commitHook())
}

// anySession names every session to viewSettled: a listing of sessions
// or leases.
const anySession = ""

// viewSettled is view once a read transaction sees every heartbeat of
// session id answered so far (of any session: anySession), whose commit
// may still be under way (see beat). Every read of sessions or leases
// goes through it.
func (s *Store) viewSettled(ctx context.Context, id string, fn func(*bbolt.Tx) error) error {
	if err := s.group.settled(ctx, id); err != nil {
		return err
	}
	return s.view(ctx, fn)
}

// view runs fn in a read transaction, after checking ctx.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.hook(false, false); err != nil {
		return err
	}
	return s.db.View(fn)
}

// baseKey is the name of a base's bucket inside "bases".
func baseKey(k sesame.BaseKey) []byte { return []byte(string(k.UAI) + "/" + string(k.Year)) }

// baseBucket returns the bucket of base k, or nil when the base does not
// exist (a bucket without its meta record does not count).
func baseBucket(tx *bbolt.Tx, k sesame.BaseKey) *bbolt.Bucket {
	b := tx.Bucket(bucketBases).Bucket(baseKey(k))
	if b == nil || b.Get(keyMeta) == nil {
		return nil
	}
	return b
}

// needBase returns the bucket of base k, or a not-found error.
func needBase(tx *bbolt.Tx, k sesame.BaseKey) (*bbolt.Bucket, error) {
	b := baseBucket(tx, k)
	if b == nil {
		return nil, baseNotFound(k)
	}
	return b, nil
}

// baseSub returns the nested bucket name of base k, or a not-found error
// when the base does not exist.
func baseSub(tx *bbolt.Tx, k sesame.BaseKey, name []byte) (*bbolt.Bucket, error) {
	bb, err := needBase(tx, k)
	if err != nil {
		return nil, err
	}
	return bb.Bucket(name), nil
}

func baseNotFound(k sesame.BaseKey) error {
	return sesame.NotFound(fmt.Sprintf("La base %s de l'établissement %s", k.Year, k.UAI))
}

// sub returns the nested bucket name of b, or nil.
func sub(b *bbolt.Bucket, name []byte) *bbolt.Bucket {
	if b == nil {
		return nil
	}
	return b.Bucket(name)
}

// load decodes the value at key into v; it reports false when absent.
func load(b *bbolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("bolt: decode %q: %w", key, err)
	}
	return true, nil
}

// store encodes v at key.
func store(b *bbolt.Bucket, key []byte, v any) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %q: %w", key, err)
	}
	return b.Put(key, data)
}

// forEachPrefix calls fn for every plain (non-bucket) value of b whose key
// starts with prefix, in key order.
func forEachPrefix(b *bbolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if v == nil {
			continue // nested bucket
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
