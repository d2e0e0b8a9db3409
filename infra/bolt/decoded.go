package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	bbolt "go.etcd.io/bbolt"
)

// decoded keeps the last decoding of records that every request reads
// and few change (a base's record, a user, a space's profile with its
// list of grants) or that every heartbeat reads and writes (a session,
// read by the heartbeat's check, read again and written by its write,
// read by the next heartbeat's check; and its lease, kept under the
// session's ID): a record whose stored bytes are
// those last decoded or written is not decoded again. The bytes are
// compared whole, so a value served from it is the decoding of what the
// transaction read, whatever wrote it. It holds at most max records, and
// starts again empty when full.
type decoded[T any] struct {
	mu  sync.Mutex
	max int
	m   map[string]decodedRec[T]
}

type decodedRec[T any] struct {
	raw []byte
	v   T
}

func newDecoded[T any](max int) *decoded[T] {
	return &decoded[T]{max: max, m: make(map[string]decodedRec[T])}
}

// load decodes the value at key of b into v, from the cache when its
// bytes are those last decoded under name; it reports false when absent.
// name must tell apart the records of different buckets. A nil d decodes
// without a cache.
func (d *decoded[T]) load(b *bbolt.Bucket, name string, key []byte, v *T) (bool, error) {
	if d == nil {
		return load(b, key, v)
	}
	if b == nil {
		return false, nil
	}
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	d.mu.Lock()
	c, ok := d.m[name]
	d.mu.Unlock()
	if ok && bytes.Equal(c.raw, raw) {
		*v = c.v
		return true, nil
	}
	var fresh T
	if err := json.Unmarshal(raw, &fresh); err != nil {
		return false, fmt.Errorf("bolt: decode %q: %w", key, err)
	}
	d.keep(name, bytes.Clone(raw), fresh)
	*v = fresh
	return true, nil
}

// store encodes v at key of b, and keeps v as the decoding of what it
// wrote under name: v must be what decoding those bytes gives (times in
// UTC, without a monotonic reading), so that the next load of the record
// is served from the cache. A nil d only writes.
func (d *decoded[T]) store(b *bbolt.Bucket, name string, key []byte, v T) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %q: %w", key, err)
	}
	if err := b.Put(key, data); err != nil {
		return err
	}
	if d != nil {
		d.keep(name, data, v)
	}
	return nil
}

// keep records v as the decoding of raw under name.
func (d *decoded[T]) keep(name string, raw []byte, v T) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		clear(d.m)
	}
	d.m[name] = decodedRec[T]{raw: raw, v: v}
}
