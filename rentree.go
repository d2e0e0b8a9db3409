package sesame

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
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
	ENTID        string // the account's ENT identifier (User.ENTID), or ""
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
	// Target returns where to send f as the new upload id of base k: a
	// target that takes that file only (its size and type) and once. It
	// checks f first (UploadFile.Check) and issues nothing for a file
	// refused.
	Target(ctx context.Context, k BaseKey, id string, f UploadFile) (UploadTarget, error)
	// Receive stores r, sent to a target this store issued, as upload id
	// of base k; f is what the request says (Size -1 when unknown).
	// Returns ErrExists when the file was already sent, ErrInvalid when f
	// or the body differs from what the target takes, ErrNotFound when no
	// live target was issued for id (a store that keeps its targets).
	Receive(ctx context.Context, k BaseKey, id string, f UploadFile, r io.Reader) error
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

// The content types a rentrée file is sent with: the zip written by
// "Préparer l'année suivante", or the legacy .profils file.
const (
	UploadTypeZip    = "application/zip"
	UploadTypeBinary = "application/octet-stream"
)

// UploadTypes lists the accepted content types, in the order the API documents them.
var UploadTypes = []string{UploadTypeZip, UploadTypeBinary}

// UploadFile is what a browser declares before sending a file: its exact size in
// bytes and its content type. An upload target binds both, so that a URL
// carries that one file and nothing larger or of another kind.
type UploadFile struct {
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

// Check refuses a file that may not be sent: a size of 0 or less or an
// unknown type (ErrInvalid, HTTP 400, field "size" or
// "contentType"), or a size over max (an ImportError too_large, HTTP 413).
func (f UploadFile) Check(max int64) error {
	if f.Size <= 0 {
		return Invalid("size", "Indiquez la taille du fichier en octets (un nombre entier positif).")
	}
	if f.Size > max {
		return tooLarge(max)
	}
	if !slices.Contains(UploadTypes, f.ContentType) {
		return Invalid("contentType", "Le type du fichier « %s » n'est pas accepté : envoyez un fichier de rentrée (%s).",
			f.ContentType, strings.Join(UploadTypes, " ou "))
	}
	return nil
}

// tooLarge refuses a file over max bytes, saying the limit.
func tooLarge(max int64) error {
	return &ImportError{Reason: "too_large", TooLarge: true,
		Message: "Le fichier est trop volumineux (" + strconv.FormatInt(max>>20, 10) + " Mo au plus)."}
}
