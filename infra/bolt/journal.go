package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sesame-ecole/sesame"
	bbolt "go.etcd.io/bbolt"
)

// The journal and the seat usage of a base: its nested buckets journal
// (entry ID → entry), journal-expiry (JournalID(ExpiresAt)+ID → ID, which
// lets Collect find the expired entries without reading the others) and
// usage ("<day>#<pool>" → the day's usage of the pool). A base created
// before them has none: readers treat a missing bucket as empty, writers
// create it.

type journalRec struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Actor     string    `json:"actor,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Mode      string    `json:"mode,omitempty"`
	Pool      string    `json:"pool,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Address   string    `json:"address,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	Count     int       `json:"count,omitempty"`
}

func toJournalRec(e sesame.JournalEntry) journalRec {
	return journalRec{ID: e.ID, At: e.At.UTC(), Event: string(e.Event), Actor: e.Actor, Subject: e.Subject,
		Mode: string(e.Mode), Pool: string(e.Pool), Reason: e.Reason, Detail: e.Detail, Address: e.Address,
		ExpiresAt: e.ExpiresAt.UTC(), Count: e.Count}
}

func (r journalRec) domain() sesame.JournalEntry {
	return sesame.JournalEntry{ID: r.ID, At: r.At, Event: sesame.Event(r.Event), Actor: r.Actor, Subject: r.Subject,
		Mode: sesame.Mode(r.Mode), Pool: sesame.Pool(r.Pool), Reason: r.Reason, Detail: r.Detail, Address: r.Address,
		ExpiresAt: r.ExpiresAt, Count: r.Count}
}

type usageRec struct {
	Day     string `json:"day"`
	Pool    string `json:"pool"`
	Peak    int    `json:"peak"`
	Refused int    `json:"refused"`
	SignIns int    `json:"signIns,omitempty"`
}

func (r usageRec) domain() sesame.UsageDay {
	return sesame.UsageDay{Day: r.Day, Pool: sesame.Pool(r.Pool), Peak: r.Peak, Refused: r.Refused, SignIns: r.SignIns}
}

func journalWhat(id string) string { return "L'entrée « " + id + " » du journal" }

// expiryKey is the key of entry e in the journal-expiry index: entries
// sort there by ExpiresAt. An entry without ExpiresAt never expires and
// has no key (nil).
func expiryKey(e sesame.JournalEntry) []byte {
	if e.ExpiresAt.IsZero() {
		return nil
	}
	return []byte(sesame.JournalID(e.ExpiresAt) + e.ID)
}

// usageKey is the key of a day's usage of a pool: days sort as text in
// time order.
func usageKey(day string, pool sesame.Pool) []byte { return []byte(day + "#" + string(pool)) }

// AppendJournal adds e to the base's journal.
func (s *Store) AppendJournal(ctx context.Context, k sesame.BaseKey, e sesame.JournalEntry) error {
	return s.writeJournal(ctx, "append", k, e, func(raw []byte) (journalRec, error) {
		if raw != nil {
			return journalRec{}, sesame.Exists(journalWhat(e.ID))
		}
		return toJournalRec(e), nil
	})
}

// CountJournal adds 1 to the count of summary entry e, creating it with
// count 1, in one write transaction (batched with concurrent writers).
func (s *Store) CountJournal(ctx context.Context, k sesame.BaseKey, e sesame.JournalEntry) error {
	return s.writeJournal(ctx, "count", k, e, func(raw []byte) (journalRec, error) {
		if raw == nil {
			rec := toJournalRec(e)
			rec.Count = 1
			return rec, nil
		}
		var rec journalRec
		err := json.Unmarshal(raw, &rec)
		rec.Count++
		return rec, err
	})
}

// writeJournal writes entry e.ID of base k's journal as next makes it from
// the stored one (nil when none), indexing a new entry by its expiry.
func (s *Store) writeJournal(ctx context.Context, op string, k sesame.BaseKey, e sesame.JournalEntry, next func(raw []byte) (journalRec, error)) error {
	if e.ID == "" {
		return fmt.Errorf("%s journal in %s: %w", op, k, sesame.Invalid("id", "L'identifiant de l'entrée du journal est obligatoire."))
	}
	err := s.batch(ctx, func(tx *bbolt.Tx) error { return putJournal(tx, k, e, next) })
	if err != nil {
		return fmt.Errorf("%s journal %s in %s: %w", op, e.ID, k, err)
	}
	return nil
}

// putJournal is writeJournal's transaction.
func putJournal(tx *bbolt.Tx, k sesame.BaseKey, e sesame.JournalEntry, next func(raw []byte) (journalRec, error)) error {
	bb, err := needBase(tx, k)
	if err != nil {
		return err
	}
	journal, err := bb.CreateBucketIfNotExists(bucketJournal)
	if err != nil {
		return err
	}
	raw := journal.Get([]byte(e.ID))
	rec, err := next(raw)
	if err != nil {
		return err
	}
	if ek := expiryKey(e); raw == nil && ek != nil {
		expiry, err := bb.CreateBucketIfNotExists(bucketJournalExpiry)
		if err != nil {
			return err
		}
		if err := expiry.Put(ek, []byte(e.ID)); err != nil {
			return err
		}
	}
	return store(journal, []byte(e.ID), rec)
}

// ListJournal returns a page of the base's journal, newest first: a cursor
// walks the journal bucket backwards from the upper bound (the cursor
// q.Before or the range's end, whichever is lower) down to the range's
// start, keeping the entries that pass q's filters, and reads one more
// than the page to know whether another follows.
func (s *Store) ListJournal(ctx context.Context, k sesame.BaseKey, q sesame.JournalQuery) (sesame.JournalPage, error) {
	page := sesame.JournalPage{Entries: []sesame.JournalEntry{}}
	size := q.PageSize()
	lo, hi := q.Range()
	upper := hi
	if q.Before != "" && (upper == "" || q.Before < upper) {
		upper = q.Before
	}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		bb, err := needBase(tx, k)
		if err != nil {
			return err
		}
		journal := bb.Bucket(bucketJournal)
		if journal == nil {
			return nil
		}
		c := journal.Cursor()
		var key, v []byte
		if upper == "" {
			key, v = c.Last()
		} else if key, _ = c.Seek([]byte(upper)); key == nil {
			key, v = c.Last()
		} else {
			key, v = c.Prev() // the last key below upper
		}
		for ; key != nil && (lo == "" || string(key) >= lo); key, v = c.Prev() {
			if v == nil {
				continue
			}
			var r journalRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode journal entry %q: %w", key, err)
			}
			e := r.domain()
			if !e.Matches(q) {
				continue
			}
			if len(page.Entries) == size {
				page.Next = page.Entries[size-1].ID
				break
			}
			page.Entries = append(page.Entries, e)
		}
		return nil
	})
	if err != nil {
		return sesame.JournalPage{}, fmt.Errorf("list journal of %s: %w", k, err)
	}
	return page, nil
}

// NoteUsage raises the day's peak of the pool to n.Held and adds
// n.Refused to its refusals and n.SignIns to its sign-ins, in one write
// transaction.
func (s *Store) NoteUsage(ctx context.Context, k sesame.BaseKey, n sesame.UsageNote) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("note usage in %s: %w", k, err)
	}
	err := s.batch(ctx, func(tx *bbolt.Tx) error { return noteUsage(tx, k, n) })
	if err != nil {
		return fmt.Errorf("note usage %s %s in %s: %w", n.Day, n.Pool, k, err)
	}
	return nil
}

// noteUsage is NoteUsage's transaction.
func noteUsage(tx *bbolt.Tx, k sesame.BaseKey, n sesame.UsageNote) error {
	bb, err := needBase(tx, k)
	if err != nil {
		return err
	}
	usage, err := bb.CreateBucketIfNotExists(bucketUsage)
	if err != nil {
		return err
	}
	key := usageKey(n.Day, n.Pool)
	r := usageRec{Day: n.Day, Pool: string(n.Pool)}
	if _, err := load(usage, key, &r); err != nil {
		return err
	}
	r.Peak = max(r.Peak, n.Held)
	r.Refused += n.Refused
	r.SignIns += n.SignIns
	return store(usage, key, r)
}

// ListUsage returns the usage of the days from..to, by day then in the
// order of sesame.Pools.
func (s *Store) ListUsage(ctx context.Context, k sesame.BaseKey, from, to string) ([]sesame.UsageDay, error) {
	fail := func(err error) ([]sesame.UsageDay, error) {
		return nil, fmt.Errorf("list usage of %s from %s to %s: %w", k, from, to, err)
	}
	for _, d := range []string{from, to} {
		if _, err := sesame.ParseDay("day", d); err != nil {
			return fail(err)
		}
	}
	out := []sesame.UsageDay{}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		bb, err := needBase(tx, k)
		if err != nil {
			return err
		}
		usage := bb.Bucket(bucketUsage)
		if usage == nil {
			return nil
		}
		// "<day>#<pool>" keys: every key of the days from..to lies in
		// [from, to+"$"), '$' coming right after '#'.
		c := usage.Cursor()
		end := []byte(to + "$")
		for key, v := c.Seek([]byte(from)); key != nil && bytes.Compare(key, end) < 0; key, v = c.Next() {
			if v == nil {
				continue
			}
			var r usageRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: decode usage %q: %w", key, err)
			}
			out = append(out, r.domain())
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	sortUsage(out)
	return out, nil
}

// sortUsage orders usage by day, then in the order of sesame.Pools.
func sortUsage(us []sesame.UsageDay) {
	slices.SortStableFunc(us, func(a, b sesame.UsageDay) int {
		if a.Day != b.Day {
			if a.Day < b.Day {
				return -1
			}
			return 1
		}
		return slices.Index(sesame.Pools, a.Pool) - slices.Index(sesame.Pools, b.Pool)
	})
}

// collectJournal removes the entries of every base's journal whose
// ExpiresAt is before before, found through the journal-expiry index, and
// returns how many went.
func collectJournal(tx *bbolt.Tx, before time.Time) (int, error) {
	bound := []byte(sesame.JournalID(before))
	n := 0
	var bases [][]byte
	err := tx.Bucket(bucketBases).ForEach(func(name, v []byte) error {
		if v == nil {
			bases = append(bases, bytes.Clone(name))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, name := range bases {
		bb := tx.Bucket(bucketBases).Bucket(name)
		expiry, journal := bb.Bucket(bucketJournalExpiry), bb.Bucket(bucketJournal)
		if expiry == nil {
			continue
		}
		// Index keys are JournalID(ExpiresAt) (16 characters) then the ID:
		// a key below the bound has ExpiresAt before before.
		var gone [][2][]byte
		c := expiry.Cursor()
		for key, id := c.First(); key != nil && bytes.Compare(key, bound) < 0; key, id = c.Next() {
			gone = append(gone, [2][]byte{bytes.Clone(key), bytes.Clone(id)})
		}
		for _, g := range gone {
			if err := expiry.Delete(g[0]); err != nil {
				return 0, err
			}
			if journal != nil && journal.Get(g[1]) != nil {
				if err := journal.Delete(g[1]); err != nil {
					return 0, err
				}
				n++
			}
		}
	}
	return n, nil
}
