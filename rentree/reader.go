package rentree

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	sesame "github.com/sesame-ecole/sesame"
)

// Source is a rentrée file opened by Open: a sesame.RentreeSource whose
// whole content has been checked. It keeps the header, the groups,
// profiles and spaces, and reads the users again from the file at each
// call of Users. Its methods may be called from several goroutines.
type Source struct {
	kind     string // "zip" or "profils"
	g        *guard
	size     int64
	lim      sesame.RentreeLimits
	header   sesame.RentreeHeader
	profiles []sesame.Profile
	digest   string

	usersFile      *zip.File // .zip: users.jsonl
	usersStart     int64     // .profils: offset of the first user line
	usersFirstLine int       // .profils: its number
	usersSum       [sha256.Size]byte
}

var _ sesame.RentreeSource = (*Source)(nil)

// ErrChanged is returned by Source.Users when the file no longer holds
// what Open checked (its ReaderAt changed underneath). The users it has
// already passed on may not be those of the checked file.
var ErrChanged = errors.New("rentree: le fichier a changé depuis son examen ; recommencez l'import")

// Header returns the school, year and date of the file, and the counts of
// what it holds (exact: Open has read it all).
func (s *Source) Header() sesame.RentreeHeader { return s.header }

// Profiles returns the admin groups, then the teacher and staff profiles,
// then the space settings, in the order of the file. Groups and profiles
// have no ID; a space's ID is its mode. The slice and its grants are
// copies.
func (s *Source) Profiles() []sesame.Profile {
	out := make([]sesame.Profile, len(s.profiles))
	for i, p := range s.profiles {
		p.Grants = append([]string(nil), p.Grants...)
		out[i] = p
	}
	return out
}

// Digest returns the SHA-256 of the whole file, in hexadecimal: the key
// under which an applied file is recorded.
func (s *Source) Digest() string { return s.digest }

// Kind returns "zip" or "profils".
func (s *Source) Kind() string { return s.kind }

// Users reads the users from the file again and calls f for each, in the
// order of the file, with its Entry and Line. It stops at the first error
// f returns and returns it, or at ctx's end. Each call reads the file; the
// memory it takes does not depend on the number of users.
func (s *Source) Users(ctx context.Context, f func(sesame.RentreeUser) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.header.Users == 0 {
		return nil
	}
	n, sum, err := s.eachUser(ctx, func(u sesame.RentreeUser) error { return f(u) })
	if err != nil {
		return err
	}
	if n != s.header.Users || sum != s.usersSum {
		return ErrChanged
	}
	return nil
}

// Open reads a rentrée file, a .zip or a .profils (told apart by its first
// bytes), and checks all of it against the format and the limits (a zero
// limit means the default one) before it returns. Every refusal is a
// *sesame.ImportError; another error means the ReaderAt itself failed.
func Open(r io.ReaderAt, size int64, limits sesame.RentreeLimits) (*Source, error) {
	lim := normalize(limits)
	if size > lim.MaxCompressedIn {
		return nil, refuse(reasonTooLarge, "", 0, "", "Le fichier fait %d octets ; la limite est de %d.", size, lim.MaxCompressedIn)
	}
	if size <= 0 {
		return nil, refuse(reasonNotAZip, "", 0, "", "Le fichier est vide.")
	}
	s := &Source{g: &guard{r: r, size: size}, size: size, lim: lim}
	head := make([]byte, 4)
	n, err := s.g.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, readFailure(s.g, err)
	}
	head = head[:n]
	body := bytes.TrimPrefix(head, bom)
	switch {
	case bytes.Equal(head, []byte("PK\x03\x04")):
		s.kind = "zip"
		err = s.openZip()
	case len(body) > 0 && body[0] == '{':
		s.kind = "profils"
		err = s.openProfils()
	case len(body) > 0 && strings.IndexByte("[\" \t\r\n", body[0]) >= 0:
		return nil, refuse(reasonWrongFormat, "", 0, "", "Ce fichier n'est pas un fichier .profils : sa première ligne doit être son en-tête {\"format\":\"sesame-profils\",…}.")
	default:
		return nil, refuse(reasonNotAZip, "", 0, "", "Ce fichier n'est ni une archive de rentrée (.zip) ni un fichier .profils.")
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

var bom = []byte("\xEF\xBB\xBF")

func normalize(l sesame.RentreeLimits) sesame.RentreeLimits {
	d := sesame.DefaultRentreeLimits
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = d.MaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxLineSize <= 0 {
		l.MaxLineSize = d.MaxLineSize
	}
	if l.MaxUsers <= 0 {
		l.MaxUsers = d.MaxUsers
	}
	if l.MaxProfiles <= 0 {
		l.MaxProfiles = d.MaxProfiles
	}
	if l.MaxCompressedIn <= 0 {
		l.MaxCompressedIn = d.MaxCompressedIn
	}
	return l
}

// lineReader reads the lines of an entry, at most max bytes each.
type lineReader struct {
	br    *bufio.Reader
	max   int
	entry string
	line  int   // number of the last line read
	off   int64 // bytes read
}

func newLineReader(r io.Reader, maxLine int, entry string, line int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, max(maxLine+2, 4096)), max: maxLine, entry: entry, line: line}
}

// next returns the next line, with its end (raw) and without (line). The
// line is valid until the next call. It returns io.EOF at the end.
func (lr *lineReader) next() (raw, line []byte, err error) {
	raw, err = lr.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, nil, refuse(reasonLineTooLong, lr.entry, lr.line+1, "", "La ligne dépasse %d octets.", lr.max)
	case err == io.EOF && len(raw) > 0:
	case err != nil:
		return nil, nil, err
	}
	lr.line++
	lr.off += int64(len(raw))
	line = bytes.TrimSuffix(raw, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > lr.max {
		return nil, nil, refuse(reasonLineTooLong, lr.entry, lr.line, "", "La ligne dépasse %d octets.", lr.max)
	}
	if len(line) == 0 {
		return nil, nil, refuse(reasonSchema, lr.entry, lr.line, "", "La ligne est vide : il faut exactement un objet JSON par ligne.")
	}
	if !utf8.Valid(line) {
		return nil, nil, refuse(reasonSchema, lr.entry, lr.line, "", "La ligne n'est pas écrite en UTF-8 valide.")
	}
	return raw, line, nil
}

// nameSet finds duplicate names of groups and profiles (per mode) and
// spaces, without regard to case.
type nameSet map[string]int

func (ns nameSet) add(entry string, line int, p sesame.Profile, field, name string) *sesame.ImportError {
	key := string(p.Mode) + "\x00" + strings.ToLower(strings.TrimSpace(name))
	if first, ok := ns[key]; ok {
		where := ""
		if first > 0 {
			where = " (ligne " + strconv.Itoa(first) + ")"
		}
		return refuse(reasonDuplicateName, entry, line, field, "Le %s « %s » figure déjà dans le fichier%s ; les noms sont comparés sans tenir compte des majuscules.", p.Kind(), printable(name, 100), where)
	}
	ns[key] = line
	return nil
}

func (s *Source) addProfile(ns nameSet, entry string, line int, p sesame.Profile, field string) *sesame.ImportError {
	name := p.Name
	if p.Mode.IsSpace() {
		name = string(p.Mode)
	}
	if err := ns.add(entry, line, p, field, name); err != nil {
		return err
	}
	if len(s.profiles) >= s.lim.MaxProfiles {
		return refuse(reasonTooLarge, entry, line, "", "Le fichier contient plus de %d groupes, profils et réglages d'espaces.", s.lim.MaxProfiles)
	}
	s.profiles = append(s.profiles, p)
	return nil
}

// loginSet finds duplicate logins while Open reads the users, in 16 bytes
// or so a login: it keeps a keyed 64-bit hash of each login key and the
// line where it was first seen. When two hashes collide, the earlier line
// is read again to tell a duplicate from a collision, and both logins are
// then kept in full (exact). The key is random for each Open, so that a
// file cannot be made to collide on purpose.
type loginSet struct {
	seed  maphash.Seed
	seen  map[uint64]int            // hash → line of its first login; -1 once its logins are all in exact
	exact map[string]int            // login key → line, for hashes that collided
	key   func(int) (string, error) // login key at a line, read again
	n     int                       // logins added
}

// loginHash is replaced in tests to force collisions.
var loginHash = func(seed maphash.Seed, key string) uint64 { return maphash.String(seed, key) }

func newLoginSet(key func(int) (string, error)) *loginSet {
	return &loginSet{seed: maphash.MakeSeed(), seen: make(map[uint64]int), exact: make(map[string]int), key: key}
}

// add records key at line and returns the line where it was already seen,
// or 0.
func (ls *loginSet) add(key string, line int) (int, error) {
	ls.n++
	if first, ok := ls.exact[key]; ok {
		return first, nil
	}
	h := loginHash(ls.seed, key)
	first, ok := ls.seen[h]
	if !ok {
		ls.seen[h] = line
		return 0, nil
	}
	if first >= 0 {
		k0, err := ls.key(first)
		if err != nil {
			return 0, err
		}
		ls.exact[k0] = first
		ls.seen[h] = -1
		if k0 == key {
			return first, nil
		}
	}
	ls.exact[key] = line
	return 0, nil
}

func duplicateLogin(entry string, line, first int, login string) *sesame.ImportError {
	return refuse(reasonDuplicateLogin, entry, line, "login", "L'identifiant « %s » figure déjà ligne %d : les identifiants sont uniques, sans tenir compte des majuscules.", login, first)
}

func tooManyUsers(entry string, line, max int) *sesame.ImportError {
	return refuse(reasonTooManyUsers, entry, line, "", "Le fichier contient plus de %d utilisateurs.", max)
}

// openUsers opens the users for reading: users.jsonl, or the .profils from
// its first user line.
func (s *Source) openUsers() (*lineReader, io.Closer, error) {
	if s.kind == "zip" {
		rc, err := s.openEntry(s.usersFile)
		if err != nil {
			return nil, nil, err
		}
		return newLineReader(rc, s.lim.MaxLineSize, EntryUsers, 0), rc, nil
	}
	sr := io.NewSectionReader(s.g, s.usersStart, s.size-s.usersStart)
	return newLineReader(sr, s.lim.MaxLineSize, EntryProfils, s.usersFirstLine-1), io.NopCloser(nil), nil
}

func (s *Source) openEntry(f *zip.File) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, entryError(s.g, f.Name, 0, err, true)
	}
	return &entryReader{rc: rc, left: int64(f.UncompressedSize64), entry: f.Name}, nil
}

// eachUser reads the users and calls f for each; it returns their number
// and the SHA-256 of their lines.
func (s *Source) eachUser(ctx context.Context, f func(sesame.RentreeUser) error) (int, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	lr, c, err := s.openUsers()
	if err != nil {
		return 0, sum, err
	}
	defer c.Close()
	h := sha256.New()
	n := 0
	for {
		raw, line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, sum, entryError(s.g, lr.entry, lr.line+1, err, false)
		}
		if n&63 == 0 {
			if err := ctx.Err(); err != nil {
				return n, sum, err
			}
		}
		u, ierr := s.parseUser(lr.entry, lr.line, line)
		if ierr != nil {
			return n, sum, ierr
		}
		h.Write(raw)
		n++
		if err := f(u); err != nil {
			return n, sum, err
		}
	}
	h.Sum(sum[:0])
	return n, sum, nil
}

// parseUser decodes and checks a user line.
func (s *Source) parseUser(entry string, lineNo int, line []byte) (sesame.RentreeUser, *sesame.ImportError) {
	if s.kind == "zip" {
		var u userJSON
		if _, err := decodeLine(line, &u, shapes().user, reasonSchema, entry, lineNo); err != nil {
			return sesame.RentreeUser{}, err
		}
		return checkUser(entry, lineNo, &u, false)
	}
	var pl profilsLine
	present, err := decodeLine(line, &pl, shapes().profilsLine, reasonSchema, entry, lineNo)
	if err != nil {
		return sesame.RentreeUser{}, err
	}
	if present != profilsUser {
		return sesame.RentreeUser{}, profilsOrder(entry, lineNo, present)
	}
	u, err := checkUser(entry, lineNo, pl.User, true)
	return u, prefixed(err, "user.")
}

// Bits of a .profils line's fields (shapes().profilsLine).
const (
	profilsGroup   = 1 << 0
	profilsProfile = 1 << 1
	profilsUser    = 1 << 2
)

func profilsOrder(entry string, line int, present uint32) *sesame.ImportError {
	switch present {
	case profilsGroup, profilsProfile:
		return refuse(reasonSchema, entry, line, "", "Les lignes doivent venir dans cet ordre : l'en-tête, les groupes, les profils, puis les utilisateurs ; cette ligne vient trop tard.")
	}
	return refuse(reasonSchema, entry, line, "", "La ligne doit avoir un seul champ : « group », « profile » ou « user ».")
}

// prefixed puts prefix before the field of err, if any.
func prefixed(err *sesame.ImportError, prefix string) *sesame.ImportError {
	if err != nil && err.Field != "" {
		err.Field = prefix + err.Field
	}
	return err
}

// loginAt reads the login key of the user at line again.
func (s *Source) loginAt(line int) (string, error) {
	lr, c, err := s.openUsers()
	if err != nil {
		return "", err
	}
	defer c.Close()
	for {
		_, b, err := lr.next()
		if err != nil {
			if err == io.EOF {
				return "", ErrChanged
			}
			return "", entryError(s.g, lr.entry, lr.line+1, err, false)
		}
		if lr.line == line {
			u, ierr := s.parseUser(lr.entry, lr.line, b)
			if ierr != nil {
				return "", ierr
			}
			return sesame.LoginKey(u.Login), nil
		}
	}
}

// readHead reads the head of a file: the manifest of a .zip or the
// first line of a .profils. It checks the format and version first, so
// that another version is told as such rather than by its unknown fields.
func readHead(b []byte, format, entry string, line int, sh *shape, v any) *sesame.ImportError {
	var pre struct {
		Format  json.RawMessage `json:"format"`
		Version json.RawMessage `json:"version"`
	}
	what := "Le manifeste"
	if format == FormatProfils {
		what = "L'en-tête (ligne 1)"
	}
	if err := json.Unmarshal(b, &pre); err != nil {
		if format == FormatProfils {
			return refuse(reasonWrongFormat, entry, line, "", "Ce fichier n'est pas un fichier .profils : sa première ligne doit être son en-tête, un objet JSON {\"format\":\"sesame-profils\",…}.")
		}
		return refuse(reasonBadManifest, entry, line, "", "%s n'est pas un objet JSON valide.", what)
	}
	var f string
	if pre.Format == nil || json.Unmarshal(pre.Format, &f) != nil {
		return refuse(reasonWrongFormat, entry, line, "format", "%s ne dit pas son format (« %s » attendu).", what, format)
	}
	if f != format {
		switch f {
		case FormatRentree:
			return refuse(reasonWrongFormat, entry, line, "format", "C'est le manifeste d'une archive de rentrée (.zip), pas un fichier .profils.")
		case FormatProfils:
			return refuse(reasonWrongFormat, entry, line, "format", "C'est l'en-tête d'un fichier .profils, pas le manifeste d'une archive de rentrée.")
		}
		return refuse(reasonWrongFormat, entry, line, "format", "Le format « %s » n'est pas reconnu (« %s » attendu).", printable(f, 40), format)
	}
	var ver float64
	if pre.Version == nil || json.Unmarshal(pre.Version, &ver) != nil {
		return refuse(reasonBadManifest, entry, line, "version", "%s doit donner sa version, un nombre entier.", what)
	}
	if ver != Version {
		return refuse(reasonWrongVersion, entry, line, "version", "Ce fichier est au format %s version %v ; cette version de Sésame lit la version %d.", format, ver, Version)
	}
	if _, err := decodeLine(b, v, sh, reasonBadManifest, entry, line); err != nil {
		return err
	}
	return nil
}

func (s *Source) openZip() error {
	count, err := checkDirectory(s.g, s.size, s.lim)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(s.g, s.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return readFailure(s.g, err)
	}
	if len(zr.File) != count {
		return truncated("L'archive est corrompue : son répertoire ne contient pas les %d entrées qu'elle annonce.", count)
	}
	files, ierr := checkEntries(zr.File, s.size, s.lim)
	if ierr != nil {
		return ierr
	}

	// manifest.json
	rc, err := s.openEntry(files[EntryManifest])
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(rc, int64(s.lim.MaxLineSize)+1))
	rc.Close()
	if err != nil {
		return entryError(s.g, EntryManifest, 0, err, false)
	}
	if len(b) > s.lim.MaxLineSize {
		return refuse(reasonBadManifest, EntryManifest, 0, "", "Le manifeste dépasse %d octets.", s.lim.MaxLineSize)
	}
	if !utf8.Valid(b) {
		return refuse(reasonBadManifest, EntryManifest, 0, "", "Le manifeste n'est pas écrit en UTF-8 valide.")
	}
	var m manifestJSON
	if ierr := readHead(b, FormatRentree, EntryManifest, 0, shapes().manifest, &m); ierr != nil {
		return ierr
	}
	h, ierr := checkHeader(EntryManifest, 0, m.School, m.Year, m.CreatedAt)
	if ierr != nil {
		return ierr
	}
	for _, c := range []struct {
		field string
		n     int
	}{{"groups", m.Counts.Groups}, {"profiles", m.Counts.Profiles}, {"spaces", m.Counts.Spaces}, {"users", m.Counts.Users}} {
		if c.n < 0 {
			return refuse(reasonBadManifest, EntryManifest, 0, "counts."+c.field, "Un nombre d'éléments ne peut pas être négatif.")
		}
	}
	if c := m.Counts; c.Users > s.lim.MaxUsers {
		return refuse(reasonTooManyUsers, EntryManifest, 0, "counts.users", "Le manifeste annonce %d utilisateurs ; la limite est de %d.", c.Users, s.lim.MaxUsers)
	} else if c.Groups+c.Profiles+c.Spaces > s.lim.MaxProfiles {
		return refuse(reasonTooLarge, EntryManifest, 0, "counts", "Le manifeste annonce plus de %d groupes, profils et réglages d'espaces.", s.lim.MaxProfiles)
	}
	h.Format, h.Version = FormatRentree, Version

	// groups.jsonl, profiles.jsonl, spaces.jsonl
	ns := nameSet{}
	counted := func(entry, field, what string, announced int, read func(line int, b []byte) *sesame.ImportError) error {
		before := len(s.profiles)
		if err := s.eachLine(files[entry], read); err != nil {
			return err
		}
		if n := len(s.profiles) - before; n != announced {
			return refuse(reasonSchema, EntryManifest, 0, "counts."+field, "Le manifeste annonce %d %s, mais %s en contient %d.", announced, what, entry, n)
		}
		return nil
	}
	err = counted(EntryGroups, "groups", "groupes", m.Counts.Groups, func(line int, b []byte) *sesame.ImportError {
		var g groupJSON
		if _, err := decodeLine(b, &g, shapes().group, reasonSchema, EntryGroups, line); err != nil {
			return err
		}
		p, err := groupProfile(EntryGroups, line, &g)
		if err != nil {
			return err
		}
		return s.addProfile(ns, EntryGroups, line, p, "name")
	})
	if err != nil {
		return err
	}
	err = counted(EntryProfiles, "profiles", "profils", m.Counts.Profiles, func(line int, b []byte) *sesame.ImportError {
		var pj profileJSON
		if _, err := decodeLine(b, &pj, shapes().profile, reasonSchema, EntryProfiles, line); err != nil {
			return err
		}
		p, err := profileProfile(EntryProfiles, line, &pj)
		if err != nil {
			return err
		}
		return s.addProfile(ns, EntryProfiles, line, p, "name")
	})
	if err != nil {
		return err
	}
	err = counted(EntrySpaces, "spaces", "réglages d'espaces", m.Counts.Spaces, func(line int, b []byte) *sesame.ImportError {
		var sj spaceJSON
		if _, err := decodeLine(b, &sj, shapes().space, reasonSchema, EntrySpaces, line); err != nil {
			return err
		}
		p, err := spaceProfile(EntrySpaces, line, &sj)
		if err != nil {
			return err
		}
		return s.addProfile(ns, EntrySpaces, line, p, "space")
	})
	if err != nil {
		return err
	}

	// users.jsonl
	s.usersFile = files[EntryUsers]
	logins := newLoginSet(s.loginAt)
	n, sum, err := s.eachUser(context.Background(), func(u sesame.RentreeUser) error {
		return s.checkNewUser(logins, u)
	})
	if err != nil {
		return err
	}
	if n != m.Counts.Users {
		return refuse(reasonSchema, EntryManifest, 0, "counts.users", "Le manifeste annonce %d utilisateurs, mais %s en contient %d.", m.Counts.Users, EntryUsers, n)
	}
	s.usersSum = sum
	h.Groups, h.Profiles, h.Spaces, h.Users = m.Counts.Groups, m.Counts.Profiles, m.Counts.Spaces, n
	s.header = h

	// The digest, of the whole file.
	d := sha256.New()
	if _, err := io.Copy(d, io.NewSectionReader(s.g, 0, s.size)); err != nil {
		return readFailure(s.g, err)
	}
	s.digest = hex.EncodeToString(d.Sum(nil))
	return nil
}

// checkNewUser counts a user read by Open and looks for its login among
// those before.
func (s *Source) checkNewUser(logins *loginSet, u sesame.RentreeUser) error {
	if logins.n >= s.lim.MaxUsers {
		return tooManyUsers(u.Entry, u.Line, s.lim.MaxUsers)
	}
	first, err := logins.add(sesame.LoginKey(u.Login), u.Line)
	if err != nil {
		return err
	}
	if first > 0 {
		return duplicateLogin(u.Entry, u.Line, first, u.Login)
	}
	return nil
}

// eachLine reads the lines of a small entry and passes each to read.
func (s *Source) eachLine(f *zip.File, read func(line int, b []byte) *sesame.ImportError) error {
	rc, err := s.openEntry(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	lr := newLineReader(rc, s.lim.MaxLineSize, f.Name, 0)
	for {
		_, b, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return entryError(s.g, f.Name, lr.line+1, err, false)
		}
		if ierr := read(lr.line, b); ierr != nil {
			return ierr
		}
	}
}

func (s *Source) openProfils() error {
	d := sha256.New()
	lr := newLineReader(io.TeeReader(io.NewSectionReader(s.g, 0, s.size), d), s.lim.MaxLineSize, EntryProfils, 0)
	fail := func(err error) error { return readFailure(s.g, err) }

	_, b, err := lr.next()
	if err != nil {
		return fail(err)
	}
	var hj headerJSON
	if ierr := readHead(bytes.TrimPrefix(b, bom), FormatProfils, EntryProfils, 1, shapes().header, &hj); ierr != nil {
		return ierr
	}
	h, ierr := checkHeader(EntryProfils, 1, hj.School, hj.Year, hj.CreatedAt)
	if ierr != nil {
		return ierr
	}
	h.Format, h.Version = FormatProfils, Version

	ns := nameSet{}
	logins := newLoginSet(s.loginAt)
	users := sha256.New()
	state := profilsGroup
	for {
		off := lr.off
		raw, b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		var pl profilsLine
		present, ierr := decodeLine(b, &pl, shapes().profilsLine, reasonSchema, EntryProfils, lr.line)
		if ierr != nil {
			return ierr
		}
		if present != profilsGroup && present != profilsProfile && present != profilsUser || present < uint32(state) {
			return profilsOrder(EntryProfils, lr.line, present)
		}
		state = int(present)
		switch present {
		case profilsGroup:
			p, ierr := groupProfile(EntryProfils, lr.line, pl.Group)
			if ierr == nil {
				ierr = s.addProfile(ns, EntryProfils, lr.line, p, "name")
			}
			if ierr != nil {
				return prefixed(ierr, "group.")
			}
			h.Groups++
		case profilsProfile:
			p, ierr := profileProfile(EntryProfils, lr.line, pl.Profile)
			if ierr == nil {
				ierr = s.addProfile(ns, EntryProfils, lr.line, p, "name")
			}
			if ierr != nil {
				return prefixed(ierr, "profile.")
			}
			h.Profiles++
		case profilsUser:
			if h.Users == 0 {
				s.usersStart, s.usersFirstLine = off, lr.line
			}
			u, ierr := checkUser(EntryProfils, lr.line, pl.User, true)
			if ierr != nil {
				return prefixed(ierr, "user.")
			}
			if err := s.checkNewUser(logins, u); err != nil {
				if ie := asImport(err); ie != nil {
					return prefixed(ie, "user.")
				}
				return err
			}
			users.Write(raw)
			h.Users++
		}
	}
	users.Sum(s.usersSum[:0])
	s.header = h
	s.digest = hex.EncodeToString(d.Sum(nil))
	return nil
}

// asImport returns err as an *ImportError when it is one, nil otherwise.
func asImport(err error) *sesame.ImportError {
	var ie *sesame.ImportError
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}
