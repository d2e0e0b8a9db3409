package sesame

import (
	"context"
	"io"
	"time"
)

// The rentrée: what "Préparer l'année suivante" writes and "Récupérer les
// utilisateurs" reads. Three sources feed recovery — last year's base in
// the same store, a rentrée .zip, a .profils file — and all three are read
// as a RentreeSource: a header, the groups and profiles (few), then the
// users as a stream (many), so memory stays bounded whatever the size.

// RentreeHeader names what a rentrée holds.
type RentreeHeader struct {
	// Format is "sesame-rentree" (the .zip) or "sesame-profils".
	Format     string
	Version    int
	UAI        UAI
	SchoolName string
	Year       Year // the school year the file was prepared from
	CreatedAt  time.Time
	// Counts of what the source holds: exact for a file (reading it checks
	// them all); -1 when the source does not count ahead (a base).
	Groups, Profiles, Spaces, Users int
}

// RentreeUser is a user as a rentrée carries it: groups and profiles are
// named by their name, since IDs differ from base to base.
type RentreeUser struct {
	Login        string
	DisplayName  string
	Kind         Kind
	Enabled      bool
	Supervisor   bool
	PasswordHash string // a PHC string: argon2id or bcrypt; never a clear password; "" for none
	AdminGroup   string // name of an admin group, or ""
	Profile      string // name of a teacher or staff profile, or ""
	// Where it stands in its source, for reports: the entry ("users.jsonl")
	// and the line (from 1).
	Entry string
	Line  int
}

// RentreeSource is one source of recovery. Profiles returns the admin
// groups, teacher and staff profiles and space settings (their IDs mean
// nothing outside their source). Users calls f for each user in order and
// stops at the first error f returns. A source may be read more than once
// (a dry run, then its apply).
type RentreeSource interface {
	Header() RentreeHeader
	Profiles() []Profile
	Users(ctx context.Context, f func(RentreeUser) error) error
}

// Limits of a rentrée file, checked before inflating and while reading. A
// zero field means the default's value.
type RentreeLimits struct {
	MaxEntries      int   // entries in the .zip
	MaxEntrySize    int64 // uncompressed bytes of one entry
	MaxTotalSize    int64 // uncompressed bytes of the whole file
	MaxRatio        int64 // uncompressed ÷ compressed, per entry
	MaxLineSize     int   // bytes of one JSON line
	MaxUsers        int
	MaxProfiles     int   // groups + profiles + spaces
	MaxCompressedIn int64 // bytes of the file itself
}

// DefaultRentreeLimits fit the largest schools (a few thousand users) with
// a wide margin.
var DefaultRentreeLimits = RentreeLimits{
	MaxEntries:      16,
	MaxEntrySize:    256 << 20,
	MaxTotalSize:    512 << 20,
	MaxRatio:        200,
	MaxLineSize:     64 << 10,
	MaxUsers:        500_000,
	MaxProfiles:     10_000,
	MaxCompressedIn: 256 << 20,
}

// UploadTarget says where a browser sends a file: in the cloud a presigned
// S3 PUT, on the single server a local address.
type UploadTarget struct {
	ID      string
	URL     string
	Method  string
	Headers map[string]string
	Expires time.Time
}

// Uploads keeps the rentrée files sent for recovery until they are applied,
// so that a dry run and its apply read the same file. Files are kept per
// base: an upload of one school is never found from another.
type Uploads interface {
	// Target returns where to send the file of a new upload id for base k.
	Target(ctx context.Context, k BaseKey, id string) (UploadTarget, error)
	// Put stores a file sent through the API or the command line.
	Put(ctx context.Context, k BaseKey, id string, r io.Reader, size int64) error
	// Open returns upload id of base k. Returns ErrNotFound if there is
	// none (never sent, or removed).
	Open(ctx context.Context, k BaseKey, id string) (Upload, error)
}

// Upload is a stored file: readable at any offset, as the rentrée reader
// needs, and closed after use.
type Upload interface {
	io.ReaderAt
	io.Closer
	Size() int64
}
