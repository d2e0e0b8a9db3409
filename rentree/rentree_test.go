package rentree

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-ecole/sesame"
)

// memSource is a rentrée in memory; gen, when set, makes its users on the
// fly (the n-th of count), so that large sources take no memory.
type memSource struct {
	h     sesame.RentreeHeader
	ps    []sesame.Profile
	us    []sesame.RentreeUser
	count int
	gen   func(i int) sesame.RentreeUser
}

func (m *memSource) Header() sesame.RentreeHeader { return m.h }
func (m *memSource) Profiles() []sesame.Profile   { return m.ps }
func (m *memSource) Users(ctx context.Context, f func(sesame.RentreeUser) error) error {
	if m.gen != nil {
		for i := range m.count {
			if err := f(m.gen(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, u := range m.us {
		if err := f(u); err != nil {
			return err
		}
	}
	return nil
}

var testNow = time.Date(2026, 6, 30, 18, 0, 0, 0, time.UTC)

// argonHash returns a well-formed argon2id PHC string, distinct for each i
// (and as incompressible as a real one).
func argonHash(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint("sel", i)))
	enc := base64.RawStdEncoding
	return "$argon2id$v=19$m=19456,t=2,p=1$" + enc.EncodeToString(sum[:16]) + "$" + enc.EncodeToString(sum[:])
}

// bcryptHash returns a well-formed bcrypt hash of the given cost.
func bcryptHash(cost int) string {
	return fmt.Sprintf("$2a$%02d$", cost) + strings.Repeat("N9qo8uLOickgx2ZMRZoMye", 3)[:53]
}

func genUser(i int) sesame.RentreeUser {
	kinds := []sesame.Kind{sesame.KindTeacher, sesame.KindStudent, sesame.KindParent, sesame.KindStaff, sesame.KindMentor, sesame.KindInspector}
	u := sesame.RentreeUser{
		Login:        fmt.Sprintf("user.%06d", i),
		DisplayName:  fmt.Sprintf("Utilisatrice n°%d « Éloïse »", i),
		Kind:         kinds[i%len(kinds)],
		Enabled:      i%7 != 0,
		PasswordHash: argonHash(i),
	}
	switch u.Kind {
	case sesame.KindTeacher:
		u.Profile = "Professeurs"
	case sesame.KindStaff:
		u.Profile = "Personnels"
		if i%2 == 0 {
			u.AdminGroup = "Modification"
		}
	}
	return u
}

// sampleSource is a base's content as a source: the default groups,
// profiles and spaces of a new base, the SPR, and n generated users.
func sampleSource(n int) *memSource {
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "Mme la Principale"}, testNow)
	m := &memSource{h: sesame.RentreeHeader{UAI: "0751234A", SchoolName: "Collège Jean Moulin", Year: "2026-2027", Users: n + 3,
		Groups: -1, Profiles: -1, Spaces: -1}}
	for _, p := range c.Profiles {
		p.UpdatedAt, p.Version = time.Time{}, 0
		if !p.Mode.IsSpace() {
			p.ID = ""
		}
		m.ps = append(m.ps, p)
	}
	m.us = append(m.us,
		sesame.RentreeUser{Login: "spr", DisplayName: "Mme la Principale", Kind: sesame.KindStaff, Enabled: true, Supervisor: true,
			PasswordHash: argonHash(-1), AdminGroup: "Administration", Profile: "Personnels"},
		sesame.RentreeUser{Login: "Prof.Martin", DisplayName: "M. Martin", Kind: sesame.KindTeacher, Enabled: true,
			PasswordHash: bcryptHash(12), Profile: "Professeurs", ENTID: "ent:Martin/042"},
		sesame.RentreeUser{Login: "sans.mot.de.passe", DisplayName: "Élève sans mot de passe", Kind: sesame.KindStudent},
	)
	for i := range n {
		m.us = append(m.us, genUser(i))
	}
	return m
}

func writeZip(t testing.TB, src sesame.RentreeSource) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteZip(&b, src, testNow); err != nil {
		t.Fatalf("WriteZip: %v", err)
	}
	return b.Bytes()
}

func writeProfils(t testing.TB, src sesame.RentreeSource) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteProfils(&b, src, testNow); err != nil {
		t.Fatalf("WriteProfils: %v", err)
	}
	return b.Bytes()
}

func open(t testing.TB, data []byte) *Source {
	t.Helper()
	s, err := Open(bytes.NewReader(data), int64(len(data)), sesame.DefaultRentreeLimits)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func allUsers(t testing.TB, s sesame.RentreeSource) []sesame.RentreeUser {
	t.Helper()
	var us []sesame.RentreeUser
	if err := s.Users(context.Background(), func(u sesame.RentreeUser) error { us = append(us, u); return nil }); err != nil {
		t.Fatalf("Users: %v", err)
	}
	return us
}

func sameProfiles(t *testing.T, got, want []sesame.Profile) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d profiles, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !slices.Equal(g.Grants, w.Grants) {
			t.Errorf("profile %d (%s): grants %v, want %v", i, w.Name, g.Grants, w.Grants)
		}
		g.Grants, w.Grants = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("profile %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestRoundTripZip(t *testing.T) {
	src := sampleSource(40)
	data := writeZip(t, src)
	s := open(t, data)
	if s.Kind() != "zip" {
		t.Errorf("Kind = %q", s.Kind())
	}
	h := s.Header()
	want := sesame.RentreeHeader{Format: FormatRentree, Version: 1, UAI: "0751234A", SchoolName: "Collège Jean Moulin", Year: "2026-2027",
		CreatedAt: testNow, Groups: 3, Profiles: 2, Spaces: 4, Users: 43}
	if h != want {
		t.Errorf("Header:\n got %+v\nwant %+v", h, want)
	}
	sameProfiles(t, s.Profiles(), src.ps)
	got := allUsers(t, s)
	if len(got) != len(src.us) {
		t.Fatalf("%d users, want %d", len(got), len(src.us))
	}
	for i, u := range src.us {
		u.Entry, u.Line = EntryUsers, i+1
		if got[i] != u {
			t.Errorf("user %d:\n got %+v\nwant %+v", i, got[i], u)
		}
	}
	// Re-readable, and the same each time.
	if again := allUsers(t, s); !slices.Equal(again, got) {
		t.Error("a second Users pass differs from the first")
	}
	// Deterministic: the same bytes, hence the same digest.
	sum := sha256.Sum256(data)
	if s.Digest() != hex.EncodeToString(sum[:]) {
		t.Errorf("Digest = %s, want the SHA-256 of the file", s.Digest())
	}
	if again := writeZip(t, src); !bytes.Equal(again, data) {
		t.Error("WriteZip is not deterministic")
	}
	if d := open(t, data).Digest(); d != s.Digest() {
		t.Errorf("digest changed between two Opens: %s, %s", d, s.Digest())
	}
	// The archive is an ordinary zip, with its entries in order and dated.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range zr.File {
		if f.Name != entryOrder[i] || !f.Modified.Equal(testNow) || f.Mode() != 0o644 {
			t.Errorf("entry %d: %s %v %v", i, f.Name, f.Modified, f.Mode())
		}
	}
	// A source whose header does not count its users is counted first.
	src.h.Users = -1
	if again := writeZip(t, src); !bytes.Equal(again, data) {
		t.Error("WriteZip with an unknown count differs")
	}
	// And a Source written again gives the same file.
	if again := writeZip(t, s); !bytes.Equal(again, data) {
		t.Error("WriteZip(Open(WriteZip(src))) differs from WriteZip(src)")
	}
}

func TestRoundTripProfils(t *testing.T) {
	src := sampleSource(40)
	data := writeProfils(t, src)
	if !bytes.HasPrefix(data, []byte(`{"format":"sesame-profils","version":1,"school":{"uai":"0751234A","name":"Collège Jean Moulin"},"year":"2026-2027","createdAt":"2026-06-30T18:00:00Z"}`+"\n")) {
		t.Errorf("header line: %.200s", data)
	}
	s := open(t, data)
	if s.Kind() != "profils" {
		t.Errorf("Kind = %q", s.Kind())
	}
	var keptUsers []sesame.RentreeUser
	for _, u := range src.us {
		if u.Kind == sesame.KindStaff || u.Kind == sesame.KindTeacher {
			keptUsers = append(keptUsers, u)
		}
	}
	h := s.Header()
	want := sesame.RentreeHeader{Format: FormatProfils, Version: 1, UAI: "0751234A", SchoolName: "Collège Jean Moulin", Year: "2026-2027",
		CreatedAt: testNow, Groups: 3, Profiles: 2, Spaces: 0, Users: len(keptUsers)}
	if h != want {
		t.Errorf("Header:\n got %+v\nwant %+v", h, want)
	}
	var keptProfiles []sesame.Profile
	for _, p := range src.ps {
		if !p.Mode.IsSpace() {
			keptProfiles = append(keptProfiles, p)
		}
	}
	sameProfiles(t, s.Profiles(), keptProfiles)
	got := allUsers(t, s)
	if len(got) != len(keptUsers) {
		t.Fatalf("%d users, want %d (staff and teachers)", len(got), len(keptUsers))
	}
	for i, u := range keptUsers {
		u.Entry, u.Line = EntryProfils, 1+3+2+i+1
		if got[i] != u {
			t.Errorf("user %d:\n got %+v\nwant %+v", i, got[i], u)
		}
	}
	sum := sha256.Sum256(data)
	if s.Digest() != hex.EncodeToString(sum[:]) {
		t.Error("Digest is not the SHA-256 of the file")
	}
	if again := writeProfils(t, src); !bytes.Equal(again, data) {
		t.Error("WriteProfils is not deterministic")
	}
	if again := writeProfils(t, s); !bytes.Equal(again, data) {
		t.Error("WriteProfils(Open(WriteProfils(src))) differs")
	}
	// A .profils read as a source writes a .zip that reads back the same.
	z := open(t, writeZip(t, s))
	sameProfiles(t, z.Profiles(), keptProfiles)
	zu := allUsers(t, z)
	for i := range zu {
		zu[i].Entry, zu[i].Line = got[i].Entry, got[i].Line
	}
	if !slices.Equal(zu, got) {
		t.Error("users differ after .profils → .zip")
	}
	// A byte-order mark and CRLF line ends are tolerated.
	crlf := append(append([]byte{}, bom...), bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))...)
	if u := allUsers(t, open(t, crlf)); !slices.Equal(u, got) {
		t.Error("users differ with a BOM and CRLF")
	}
}

func TestUsersStopsAndCancels(t *testing.T) {
	s := open(t, writeZip(t, sampleSource(200)))
	stop := errors.New("stop")
	n := 0
	err := s.Users(context.Background(), func(sesame.RentreeUser) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if err != stop || n != 5 {
		t.Errorf("Users returned %v after %d users, want stop after 5", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = s.Users(ctx, func(sesame.RentreeUser) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 200 {
		t.Errorf("Users returned %v after %d users, want context.Canceled", err, n)
	}
}

// changingReader serves a, then b once switched.
type changingReader struct {
	a, b    []byte
	switchd bool
}

func (c *changingReader) ReadAt(p []byte, off int64) (int, error) {
	d := c.a
	if c.switchd {
		d = c.b
	}
	return bytes.NewReader(d).ReadAt(p, off)
}

func TestUsersDetectsChange(t *testing.T) {
	src := sampleSource(10)
	a := writeProfils(t, src)
	src.us[3].DisplayName = "Autre nom" // same length as long as the file stays valid
	b := writeProfils(t, src)
	cr := &changingReader{a: a, b: b}
	s, err := Open(cr, int64(len(a)), sesame.DefaultRentreeLimits)
	if err != nil {
		t.Fatal(err)
	}
	cr.switchd = true
	if err := s.Users(context.Background(), func(sesame.RentreeUser) error { return nil }); err == nil {
		t.Error("Users did not notice that the file changed")
	}
}

// failingReader fails after n bytes, like a disk.
type failingReader struct {
	data []byte
	at   int64
}

var errDisk = errors.New("disque illisible")

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, errDisk
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestReaderFailureIsNotARefusal(t *testing.T) {
	for _, data := range [][]byte{writeZip(t, sampleSource(300)), writeProfils(t, sampleSource(300))} {
		for _, at := range []int64{int64(len(data)) / 2, int64(len(data)) - 10} {
			_, err := Open(&failingReader{data: data, at: at}, int64(len(data)), sesame.DefaultRentreeLimits)
			var ie *sesame.ImportError
			if !errors.Is(err, errDisk) || errors.As(err, &ie) {
				t.Errorf("Open with a failing disk at %d/%d: %v, want the disk's error", at, len(data), err)
			}
		}
	}
}

func TestCollidingLoginHashes(t *testing.T) {
	defer func(h func(maphash.Seed, string) uint64) { loginHash = h }(loginHash)
	loginHash = func(maphash.Seed, string) uint64 { return 42 } // every login collides
	src := sampleSource(30)
	for _, data := range [][]byte{writeZip(t, src), writeProfils(t, src)} {
		s := open(t, data) // distinct logins: no refusal
		if n := len(allUsers(t, s)); n != s.Header().Users {
			t.Errorf("%d users", n)
		}
	}
	src.us = append(src.us, sesame.RentreeUser{Login: "USER.000018", DisplayName: "Doublon", Kind: sesame.KindTeacher})
	src.h.Users++
	for _, data := range [][]byte{writeZip(t, src), writeProfils(t, src)} {
		_, err := Open(bytes.NewReader(data), int64(len(data)), sesame.DefaultRentreeLimits)
		var ie *sesame.ImportError
		if !errors.As(err, &ie) || ie.Reason != "duplicate_login" {
			t.Errorf("duplicate under colliding hashes: %v", err)
		} else if !strings.Contains(ie.Message, "USER.000018") {
			t.Errorf("message %q", ie.Message)
		}
	}
}

func TestWriterRefusesWhatOpenRefuses(t *testing.T) {
	cases := map[string]func(m *memSource){
		"clear password": func(m *memSource) { m.us[3].PasswordHash = "secret123" },
		"bad login":      func(m *memSource) { m.us[3].Login = "a b" },
		"bad grant":      func(m *memSource) { m.ps[1].Grants = append(m.ps[1].Grants, "spr.journal") },
		"dup group":      func(m *memSource) { m.ps[2].Name = "MODIFICATION" },
		"count":          func(m *memSource) { m.h.Users = 2 },
		"bad UAI":        func(m *memSource) { m.h.UAI = "123" },
		"bad ENT id":     func(m *memSource) { m.us[3].ENTID = " ent-1" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := sampleSource(5)
			mutate(m)
			if err := WriteZip(io.Discard, m, testNow); err == nil {
				t.Error("WriteZip accepted it")
			}
		})
	}
}

// decodeLines is a helper for hostile tests: the JSON lines of v.
func jsonLine(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestUsersConcurrent(t *testing.T) {
	for _, data := range [][]byte{writeZip(t, sampleSource(300)), writeProfils(t, sampleSource(300))} {
		s := open(t, data)
		want := allUsers(t, s)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				i := 0
				errs <- s.Users(context.Background(), func(u sesame.RentreeUser) error {
					if u != want[i] {
						return fmt.Errorf("user %d differs", i)
					}
					i++
					return nil
				})
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}
