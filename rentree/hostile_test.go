package rentree

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sesame "github.com/sesame-ecole/sesame"
)

// entry is one entry of a zip built by a test.
type entry struct {
	name string
	data []byte
	// Optional: the method (Deflate when 0), the mode, and raw sizes
	// declared instead of the true ones (CreateRaw).
	method     uint16
	mode       fs.FileMode
	rawCompr   []byte // the compressed bytes, written as is
	declared   uint64 // the uncompressed size declared with rawCompr
	encryptBit bool
}

func buildZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: e.method, Modified: testNow}
		if e.method == 0 && e.rawCompr == nil {
			fh.Method = zip.Deflate
		}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		if e.rawCompr != nil {
			fh.Method = zip.Deflate
			if e.method != 0 {
				fh.Method = e.method
			}
			fh.CompressedSize64 = uint64(len(e.rawCompr))
			fh.UncompressedSize64 = e.declared
			fh.CRC32 = 0x12345678
			if e.encryptBit {
				fh.Flags |= 0x1
			}
			w, err := zw.CreateRaw(fh)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(e.rawCompr)
			continue
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// validEntries returns the entries of a valid small rentrée .zip.
func validEntries(t testing.TB) []entry {
	t.Helper()
	data := writeZip(t, sampleSource(4))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var es []entry
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		es = append(es, entry{name: f.Name, data: b})
	}
	return es
}

// with returns valid entries with the named one's content replaced
// (appended when name is new).
func with(t testing.TB, name string, data string) []entry {
	es := validEntries(t)
	for i := range es {
		if es[i].name == name {
			es[i].data = []byte(data)
			return es
		}
	}
	return append(es, entry{name: name, data: []byte(data)})
}

// withManifest returns valid entries whose manifest is changed by edit.
func withManifest(t testing.TB, edit func(m map[string]any)) []entry {
	es := validEntries(t)
	var m map[string]any
	if err := json.Unmarshal(es[0].data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	es[0].data = []byte(jsonLine(m))
	return es
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

const goodUser = `{"login":"prof.martin","displayName":"M. Martin","kind":"teacher","enabled":true,"passwordHash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}`

// usersZip is a valid .zip whose users.jsonl holds these lines (the
// manifest's count follows).
func usersZip(t testing.TB, ls ...string) []byte {
	es := with(t, EntryUsers, lines(ls...))
	var m map[string]any
	json.Unmarshal(es[0].data, &m)
	m["counts"].(map[string]any)["users"] = len(ls)
	es[0].data = []byte(jsonLine(m))
	return buildZip(t, es...)
}

const profilsHeader = `{"format":"sesame-profils","version":1,"school":{"uai":"0751234A","name":"Collège"},"year":"2026-2027","createdAt":"2026-06-30T18:00:00Z"}`

type hostile struct {
	name   string
	data   []byte
	limits sesame.RentreeLimits
	reason string
	entry  string // checked when not empty ("-" for none)
	line   int    // checked when not 0
	field  string // checked when not empty
	msg    string // a part of the message, when not empty
}

func checkRefusal(t *testing.T, c hostile) {
	t.Helper()
	src, err := Open(bytes.NewReader(c.data), int64(len(c.data)), c.limits)
	if err == nil {
		t.Fatalf("accepted (%d users)", src.Header().Users)
	}
	var ie *sesame.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T %v, want an *sesame.ImportError", err, err)
	}
	if !errors.Is(err, sesame.ErrInvalidImport) {
		t.Error("errors.Is(err, ErrInvalidImport) does not hold")
	}
	if ie.Reason != c.reason {
		t.Errorf("Reason %q, want %q (%v)", ie.Reason, c.reason, err)
	}
	if c.entry == "-" && ie.Entry != "" || c.entry != "" && c.entry != "-" && ie.Entry != c.entry {
		t.Errorf("Entry %q, want %q (%v)", ie.Entry, c.entry, err)
	}
	if c.line != 0 && ie.Line != c.line {
		t.Errorf("Line %d, want %d (%v)", ie.Line, c.line, err)
	}
	if c.field != "" && ie.Field != c.field {
		t.Errorf("Field %q, want %q (%v)", ie.Field, c.field, err)
	}
	if c.msg != "" && !strings.Contains(ie.Message, c.msg) {
		t.Errorf("Message %q lacks %q", ie.Message, c.msg)
	}
	checkFrench(t, ie)
	if want := c.reason == "too_large" || c.reason == "too_many_users"; ie.TooLarge != want {
		t.Errorf("TooLarge = %v for %s", ie.TooLarge, ie.Reason)
	}
	t.Logf("%v", err)
}

// checkFrench fails on messages that leak English from the standard
// library, or are not sentences.
func checkFrench(t *testing.T, ie *sesame.ImportError) {
	t.Helper()
	m := ie.Message
	for _, en := range []string{"invalid", "cannot", "unexpected", "json:", "zip:", "flate:", "EOF", "error", "unmarshal"} {
		if strings.Contains(m, en) {
			t.Errorf("message %q holds %q", m, en)
		}
	}
	if m == "" || !strings.HasSuffix(m, ".") && !strings.HasSuffix(m, ")") {
		t.Errorf("message %q is not a sentence", m)
	}
}

func TestHostileZip(t *testing.T) {
	small := sesame.RentreeLimits{MaxEntrySize: 1000, MaxTotalSize: 1500}
	letters := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i*7%26)
		}
		return b
	}
	usersDeflated := deflate([]byte(strings.Repeat(goodUser+"\n", 200)))
	bomb := make([]byte, 50<<20) // 50 MB of zeros
	cases := []hostile{
		{name: "path traversal", data: buildZip(t, append(validEntries(t), entry{name: "../users.jsonl", data: []byte("x")})...),
			reason: "unsafe_path", entry: "../users.jsonl"},
		{name: "absolute path", data: buildZip(t, entry{name: "/etc/passwd", data: []byte("root")}),
			reason: "unsafe_path", entry: "/etc/passwd"},
		{name: "backslash", data: buildZip(t, entry{name: `..\users.jsonl`, data: []byte("x")}), reason: "unsafe_path"},
		{name: "drive", data: buildZip(t, entry{name: `C:/users.jsonl`, data: []byte("x")}), reason: "unsafe_path"},
		{name: "symlink", data: buildZip(t, append(validEntries(t)[:4], entry{name: EntryUsers, data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777})...),
			reason: "symlink", entry: EntryUsers},
		{name: "directory", data: buildZip(t, entry{name: "users/", mode: fs.ModeDir | 0o755}), reason: "unknown_entry", entry: "users/"},
		{name: "unknown entry", data: buildZip(t, append(validEntries(t), entry{name: "notes.txt", data: []byte("x")})...),
			reason: "unknown_entry", entry: "notes.txt"},
		{name: "duplicate entry", data: buildZip(t, append(validEntries(t), entry{name: EntryUsers, data: []byte(goodUser + "\n")})...),
			reason: "duplicate_entry", entry: EntryUsers},
		{name: "missing entry", data: buildZip(t, validEntries(t)[:4]...), reason: "missing_entry", entry: EntryUsers},
		{name: "order", data: func() []byte {
			es := validEntries(t)
			es[1], es[2] = es[2], es[1]
			return buildZip(t, es...)
		}(), reason: "schema", entry: EntryProfiles},
		{name: "other method", data: buildZip(t, entry{name: EntryManifest, rawCompr: []byte("{}"), declared: 2, method: 12}), reason: "schema", entry: EntryManifest},
		{name: "encrypted", data: buildZip(t, entry{name: EntryManifest, rawCompr: deflate([]byte("{}")), declared: 2, encryptBit: true}), reason: "schema"},
		{name: "zip bomb by ratio", data: buildZip(t, append(validEntries(t)[:4], entry{name: EntryUsers, rawCompr: deflate(bomb), declared: uint64(len(bomb))})...),
			reason: "compression_ratio", entry: EntryUsers},
		{name: "declared entry too large", data: buildZip(t, entry{name: EntryManifest, data: letters(1200), method: zip.Store}),
			limits: small, reason: "too_large", entry: EntryManifest},
		{name: "zip bomb by total size", data: buildZip(t, entry{name: EntryManifest, data: letters(800), method: zip.Store}, entry{name: EntryGroups, data: letters(800), method: zip.Store}),
			limits: small, reason: "too_large", entry: EntryGroups},
		{name: "lying header", data: buildZip(t, append(validEntries(t)[:4], entry{name: EntryUsers, rawCompr: usersDeflated, declared: 100})...),
			reason: "too_large", entry: EntryUsers, msg: "taille déclarée"},
		{name: "lying header, short", data: buildZip(t, append(validEntries(t)[:4], entry{name: EntryUsers, rawCompr: deflate([]byte(goodUser + "\n")), declared: 5000})...),
			reason: "truncated", entry: EntryUsers},
		{name: "file too large", data: writeZip(t, sampleSource(10)), limits: sesame.RentreeLimits{MaxCompressedIn: 1000}, reason: "too_large", entry: "-"},
		{name: "too many entries", data: buildZip(t, func() []entry {
			es := make([]entry, 17)
			for i := range es {
				es[i] = entry{name: "e", method: zip.Store}
			}
			return es
		}()...), reason: "too_many_entries"},
		{name: "truncated", data: func() []byte { d := writeZip(t, sampleSource(50)); return d[:len(d)/2] }(), reason: "truncated"},
		{name: "truncated end", data: func() []byte { d := writeZip(t, sampleSource(50)); return d[:len(d)-5] }(), reason: "truncated"},
		{name: "not a zip", data: []byte("Bonjour, voici les utilisateurs.\n"), reason: "not_a_zip"},
		{name: "pdf", data: []byte("%PDF-1.7\n%âãÏÓ\n"), reason: "not_a_zip"},
		{name: "empty", data: []byte{}, reason: "not_a_zip"},
		{name: "json array", data: []byte(`[{"login":"x"}]`), reason: "wrong_format"},
		{name: "wrong version", data: buildZip(t, withManifest(t, func(m map[string]any) { m["version"] = 2 })...),
			reason: "wrong_version", entry: EntryManifest, field: "version"},
		{name: "wrong version with new fields", data: buildZip(t, withManifest(t, func(m map[string]any) { m["version"] = 2; m["extra"] = true })...),
			reason: "wrong_version", entry: EntryManifest},
		{name: "wrong format", data: buildZip(t, withManifest(t, func(m map[string]any) { m["format"] = "sesame-profils" })...),
			reason: "wrong_format", entry: EntryManifest, field: "format"},
		{name: "bad UAI", data: buildZip(t, withManifest(t, func(m map[string]any) { m["school"].(map[string]any)["uai"] = "75ABC" })...),
			reason: "bad_manifest", entry: EntryManifest, field: "school.uai"},
		{name: "bad year", data: buildZip(t, withManifest(t, func(m map[string]any) { m["year"] = "2026-2028" })...),
			reason: "bad_manifest", field: "year"},
		{name: "manifest unknown field", data: buildZip(t, withManifest(t, func(m map[string]any) { m["school"].(map[string]any)["city"] = "Paris" })...),
			reason: "bad_manifest", field: "school.city"},
		{name: "manifest not JSON", data: buildZip(t, with(t, EntryManifest, "format: sesame-rentree")...), reason: "bad_manifest", entry: EntryManifest},
		{name: "counts mismatch", data: buildZip(t, withManifest(t, func(m map[string]any) { m["counts"].(map[string]any)["users"] = 99 })...),
			reason: "schema", entry: EntryManifest, field: "counts.users", msg: "99"},
		{name: "group counts mismatch", data: buildZip(t, withManifest(t, func(m map[string]any) { m["counts"].(map[string]any)["groups"] = 2 })...),
			reason: "schema", field: "counts.groups"},
		{name: "unknown field", data: usersZip(t, goodUser, `{"login":"a","displayName":"A","kind":"staff","enabled":true,"role":"admin"}`),
			reason: "schema", entry: EntryUsers, line: 2, field: "role", msg: "inconnu"},
		{name: "clear password", data: usersZip(t, `{"login":"a","displayName":"A","kind":"staff","enabled":true,"password":"azerty"}`),
			reason: "schema", entry: EntryUsers, line: 1, field: "password", msg: "en clair"},
		{name: "field in the wrong case", data: usersZip(t, `{"Login":"a","displayName":"A","kind":"staff","enabled":true}`),
			reason: "schema", line: 1, field: "Login", msg: "« login »"},
		{name: "field twice", data: usersZip(t, `{"login":"a","login":"b","displayName":"A","kind":"staff","enabled":true}`),
			reason: "schema", line: 1, field: "login"},
		{name: "missing field", data: usersZip(t, `{"login":"a","displayName":"A","kind":"staff"}`), reason: "schema", line: 1, field: "enabled"},
		{name: "null", data: usersZip(t, `{"login":"a","displayName":null,"kind":"staff","enabled":true}`), reason: "schema", line: 1, field: "displayName"},
		{name: "wrong type", data: usersZip(t, `{"login":"a","displayName":"A","kind":"staff","enabled":"oui"}`),
			reason: "schema", line: 1, field: "enabled", msg: "true ou false"},
		{name: "trailing data", data: usersZip(t, goodUser+` {"login":"b"}`), reason: "schema", line: 1},
		{name: "two objects", data: usersZip(t, goodUser+goodUser), reason: "schema", line: 1},
		{name: "not an object", data: usersZip(t, `["prof.martin"]`), reason: "schema", line: 1},
		{name: "blank line", data: usersZip(t, goodUser, ""), reason: "schema", line: 2},
		{name: "invalid UTF-8", data: usersZip(t, `{"login":"a","displayName":"`+"\xff"+`","kind":"staff","enabled":true}`), reason: "schema", line: 1},
		{name: "bad login", data: usersZip(t, `{"login":"prof martin","displayName":"A","kind":"staff","enabled":true}`), reason: "schema", line: 1, field: "login"},
		{name: "bad kind", data: usersZip(t, `{"login":"a","displayName":"A","kind":"admin","enabled":true}`), reason: "schema", line: 1, field: "kind"},
		{name: "empty display name", data: usersZip(t, `{"login":"a","displayName":"  ","kind":"staff","enabled":true}`), reason: "schema", field: "displayName"},
		{name: "duplicate logins", data: usersZip(t, goodUser, strings.Replace(goodUser, "teacher", "staff", 1), strings.Replace(goodUser, "prof.martin", "Prof.MARTIN", 1)),
			reason: "duplicate_login", entry: EntryUsers, line: 2, field: "login", msg: "ligne 1"},
		{name: "duplicate logins, later", data: usersZip(t, goodUser, strings.Replace(goodUser, "prof.martin", "b", 1), strings.Replace(goodUser, "prof.martin", "Prof.MARTIN", 1)),
			reason: "duplicate_login", line: 3, msg: "« Prof.MARTIN » figure déjà ligne 1"},
		{name: "bcrypt cost 4", data: usersZip(t, strings.Replace(goodUser, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", bcryptHash(4), 1)),
			reason: "bad_hash", entry: EntryUsers, line: 1, field: "passwordHash", msg: "coût"},
		{name: "sha512crypt", data: usersZip(t, strings.Replace(goodUser, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$6$rounds=5000$sel$hachage", 1)),
			reason: "bad_hash", line: 1, field: "passwordHash"},
		{name: "too many users", data: usersZip(t, goodUser, strings.Replace(goodUser, "prof.martin", "b", 1), strings.Replace(goodUser, "prof.martin", "c", 1)),
			limits: sesame.RentreeLimits{MaxUsers: 2}, reason: "too_many_users", entry: EntryManifest, field: "counts.users"},
		{name: "too many users, not announced", data: func() []byte {
			es := with(t, EntryUsers, lines(goodUser, strings.Replace(goodUser, "prof.martin", "b", 1), strings.Replace(goodUser, "prof.martin", "c", 1)))
			es[0].data = bytes.Replace(es[0].data, []byte(`"users":7`), []byte(`"users":1`), 1)
			return buildZip(t, es...)
		}(), limits: sesame.RentreeLimits{MaxUsers: 2}, reason: "too_many_users", entry: EntryUsers, line: 3},
		{name: "line too long", data: usersZip(t, goodUser, strings.Replace(goodUser, "M. Martin", strings.Repeat("é", 3000), 1)),
			limits: sesame.RentreeLimits{MaxLineSize: 5000}, reason: "line_too_long", entry: EntryUsers, line: 2},
		{name: "line too long for the buffer", data: usersZip(t, goodUser, strings.Replace(goodUser, "M. Martin", noise(70_000), 1)),
			reason: "line_too_long", entry: EntryUsers, line: 2},
		{name: "unknown grant", data: buildZip(t, with(t, EntryGroups, lines(
			`{"name":"Modification","type":"modif","grants":["notes.saisir-notes","notes.tout-effacer"],"autoDisconnect":{"enabled":true,"seconds":1800}}`,
			`{"name":"Administration","type":"admin","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`,
			`{"name":"Consultation","type":"consult","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "schema", entry: EntryGroups, line: 1, field: "grants", msg: "notes.tout-effacer"},
		{name: "SPR-only grant", data: buildZip(t, with(t, EntryProfiles, lines(
			`{"name":"Professeurs","mode":"teacher","grants":["spr.journal"],"autoDisconnect":{"enabled":true,"seconds":1800}}`,
			`{"name":"Personnels","mode":"vie-scolaire","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "schema", entry: EntryProfiles, line: 1, field: "grants", msg: "superviseur"},
		{name: "duplicate group name", data: buildZip(t, with(t, EntryGroups, lines(
			`{"name":"Modification","type":"modif","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`,
			`{"name":"Administration","type":"admin","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`,
			`{"name":" MODIFICATION","type":"consult","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "duplicate_name", entry: EntryGroups, line: 3, field: "name"},
		{name: "bad group type", data: buildZip(t, with(t, EntryGroups, lines(
			`{"name":"Modification","type":"super","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "schema", line: 1, field: "type"},
		{name: "bad profile mode", data: buildZip(t, with(t, EntryProfiles, lines(
			`{"name":"Profs","mode":"admin","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "schema", line: 1, field: "mode"},
		{name: "bad space", data: buildZip(t, with(t, EntrySpaces, lines(`{"space":"teacher","autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "schema", entry: EntrySpaces, line: 1, field: "space"},
		{name: "duplicate space", data: buildZip(t, with(t, EntrySpaces, lines(
			`{"space":"parent","autoDisconnect":{"enabled":true,"seconds":1800}}`, `{"space":"parent","autoDisconnect":{"enabled":false,"seconds":0}}`,
			`{"space":"student","autoDisconnect":{"enabled":true,"seconds":1800}}`, `{"space":"company","autoDisconnect":{"enabled":true,"seconds":1800}}`))...),
			reason: "duplicate_name", entry: EntrySpaces, line: 2},
		{name: "disconnection over 12 h", data: buildZip(t, with(t, EntrySpaces, lines(`{"space":"parent","autoDisconnect":{"enabled":true,"seconds":43201}}`))...),
			reason: "schema", line: 1, field: "autoDisconnect.seconds"},
		{name: "negative disconnection", data: buildZip(t, with(t, EntrySpaces, lines(`{"space":"parent","autoDisconnect":{"enabled":true,"seconds":-1}}`))...),
			reason: "schema", line: 1, field: "autoDisconnect.seconds"},
		{name: "fractional seconds", data: buildZip(t, with(t, EntrySpaces, lines(`{"space":"parent","autoDisconnect":{"enabled":true,"seconds":1.5}}`))...),
			reason: "schema", line: 1, field: "autoDisconnect.seconds", msg: "entier"},
		{name: "nested unknown field", data: buildZip(t, with(t, EntrySpaces, lines(`{"space":"parent","autoDisconnect":{"enabled":true,"seconds":60,"warn":10}}`))...),
			reason: "schema", line: 1, field: "autoDisconnect.warn"},
		{name: "too many profiles", data: writeZip(t, sampleSource(1)), limits: sesame.RentreeLimits{MaxProfiles: 4}, reason: "too_large", entry: EntryManifest},
		{name: "too many profiles, not announced", data: buildZip(t, withManifest(t, func(m map[string]any) { m["counts"].(map[string]any)["spaces"] = 0 })...),
			limits: sesame.RentreeLimits{MaxProfiles: 5}, reason: "too_large", entry: EntrySpaces, line: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRefusal(t, c) })
	}
}

func TestHostileProfils(t *testing.T) {
	group := `{"group":{"name":"Modification","type":"modif","grants":["notes.saisir-notes"],"autoDisconnect":{"enabled":true,"seconds":1800}}}`
	profile := `{"profile":{"name":"Professeurs","mode":"teacher","grants":[],"autoDisconnect":{"enabled":true,"seconds":1800}}}`
	user := `{"user":` + goodUser + `}`
	user2 := strings.Replace(user, "prof.martin", "mme.durand", 1)
	pf := func(ls ...string) []byte { return []byte(lines(append([]string{profilsHeader}, ls...)...)) }
	if _, err := Open(bytes.NewReader(pf(group, profile, user, user2)), int64(len(pf(group, profile, user, user2))), sesame.RentreeLimits{}); err != nil {
		t.Fatalf("the valid base of these cases is refused: %v", err)
	}
	cases := []hostile{
		{name: "group after user", data: pf(group, user, group), reason: "schema", entry: EntryProfils, line: 4, msg: "ordre"},
		{name: "profile after user", data: pf(user, profile), reason: "schema", line: 3},
		{name: "group after profile", data: pf(profile, group), reason: "schema", line: 3},
		{name: "two kinds in a line", data: pf(`{"group":{"name":"G","type":"modif","grants":[],"autoDisconnect":{"enabled":false,"seconds":0}},"user":` + goodUser + `}`), reason: "schema", line: 2},
		{name: "empty line object", data: pf(`{}`), reason: "schema", line: 2},
		{name: "space", data: pf(`{"space":{"space":"parent","autoDisconnect":{"enabled":true,"seconds":60}}}`), reason: "schema", line: 2, field: "space"},
		{name: "parent in a .profils", data: pf(strings.Replace(user, "teacher", "parent", 1)), reason: "schema", line: 2, field: "user.kind"},
		{name: "clear password", data: pf(`{"user":{"login":"a","displayName":"A","kind":"staff","enabled":true,"password":"azerty"}}`),
			reason: "schema", line: 2, field: "user.password", msg: "en clair"},
		{name: "duplicate logins", data: pf(user, user2, strings.Replace(user, "prof.martin", "PROF.Martin", 1)),
			reason: "duplicate_login", entry: EntryProfils, line: 4, field: "user.login", msg: "ligne 2"},
		{name: "bad hash", data: pf(strings.Replace(user, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", bcryptHash(4), 1)),
			reason: "bad_hash", line: 2, field: "user.passwordHash"},
		{name: "unknown grant", data: pf(strings.Replace(group, "notes.saisir-notes", "inconnue", 1)), reason: "schema", line: 2, field: "group.grants"},
		{name: "type error", data: pf(strings.Replace(user, `"enabled":true`, `"enabled":1`, 1)), reason: "schema", line: 2, field: "user.enabled"},
		{name: "wrong version", data: []byte(strings.Replace(profilsHeader, `"version":1`, `"version":2`, 1) + "\n"),
			reason: "wrong_version", entry: EntryProfils, line: 1, field: "version"},
		{name: "manifest as header", data: []byte(`{"format":"sesame-rentree","version":1}` + "\n"), reason: "wrong_format", line: 1},
		{name: "no header", data: pf()[len(profilsHeader)+1:], reason: "not_a_zip"},
		{name: "user as header", data: []byte(user + "\n"), reason: "wrong_format", line: 1},
		{name: "not JSON", data: []byte("{login: a}\n"), reason: "wrong_format", line: 1},
		{name: "header with counts", data: []byte(strings.Replace(profilsHeader, `}`, `,"counts":{}}`, 1) + "\n"), reason: "bad_manifest"},
		{name: "bad year", data: []byte(strings.Replace(profilsHeader, "2026-2027", "26-27", 1) + "\n"), reason: "bad_manifest", field: "year"},
		{name: "line too long", data: pf(user, strings.Replace(user2, "M. Martin", strings.Repeat("x", 2000), 1)),
			limits: sesame.RentreeLimits{MaxLineSize: 1000}, reason: "line_too_long", line: 3},
		{name: "blank line", data: pf(group, "", user), reason: "schema", line: 3},
		{name: "too many users", data: pf(user, user2), limits: sesame.RentreeLimits{MaxUsers: 1}, reason: "too_many_users", line: 3},
		{name: "file too large", data: pf(user, user2), limits: sesame.RentreeLimits{MaxCompressedIn: 100}, reason: "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRefusal(t, c) })
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r *bytes.Reader
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestManyEntriesRefusedCheaply: 100,000 entries are refused from the end
// of central directory record, before archive/zip parses the directory:
// only the last 65 KiB of the file are read.
func TestManyEntriesRefusedCheaply(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := range 100_000 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "e" + itoa6(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	data := b.Bytes()
	cr := &countingReader{r: bytes.NewReader(data)}
	start := time.Now()
	_, err := Open(cr, int64(len(data)), sesame.DefaultRentreeLimits)
	elapsed := time.Since(start)
	var ie *sesame.ImportError
	if !errors.As(err, &ie) || ie.Reason != "too_many_entries" {
		t.Fatalf("Open: %v, want too_many_entries", err)
	}
	if !strings.Contains(ie.Message, "100000") {
		t.Errorf("message %q does not give the count", ie.Message)
	}
	if n := cr.n.Load(); n > 70<<10 {
		t.Errorf("Open read %d bytes of a %d-byte file to refuse it", n, len(data))
	}
	t.Logf("%d-byte zip of 100,000 entries (zip64): refused in %v after reading %d bytes: %v", len(data), elapsed, cr.n.Load(), err)

	// The same with a forged 32-bit record: 60,000 entries announced.
	small := buildZip(t, validEntries(t)...)
	forged := append([]byte{}, small...)
	eocd := bytes.LastIndex(forged, []byte("PK\x05\x06"))
	binary.LittleEndian.PutUint16(forged[eocd+8:], 60000)
	binary.LittleEndian.PutUint16(forged[eocd+10:], 60000)
	checkRefusal(t, hostile{data: forged, reason: "too_many_entries"})

	// A directory that holds more headers than its end record announces:
	// a record that says 5 entries for a directory of 6 is refused before
	// archive/zip would read them all.
	six := buildZip(t, append(validEntries(t), entry{name: "extra", data: []byte("x")})...)
	eocd = bytes.LastIndex(six, []byte("PK\x05\x06"))
	binary.LittleEndian.PutUint16(six[eocd+8:], 5)
	binary.LittleEndian.PutUint16(six[eocd+10:], 5)
	checkRefusal(t, hostile{data: six, reason: "truncated"})

	// Data before the archive (a self-extracting stub) is refused.
	checkRefusal(t, hostile{data: append([]byte("PK\x03\x04stub"), small...), reason: "truncated"})
	// Data after it too.
	checkRefusal(t, hostile{data: append(append([]byte{}, small...), "fin"...), reason: "truncated"})
}

// noise returns n letters that do not compress much.
func noise(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strings.TrimLeft(argonHash(i)[31:], "+/"))
	}
	return strings.NewReplacer("+", "a", "/", "b", "$", "c").Replace(b.String()[:n])
}

func itoa6(i int) string {
	b := []byte("000000")
	for j := 5; j >= 0; j-- {
		b[j] = '0' + byte(i%10)
		i /= 10
	}
	return string(b)
}

// TestZip64Small: a zip64 archive of the five entries (as some tools write
// them) is read.
func TestZip64Small(t *testing.T) {
	data := buildZip(t, validEntries(t)...)
	// Rewrite the end record as zip64: a zip64 end record and its locator
	// before a 32-bit record whose count says 0xffff.
	eocd := bytes.LastIndex(data, []byte("PK\x05\x06"))
	le := binary.LittleEndian
	n, size, off := le.Uint16(data[eocd+10:]), le.Uint32(data[eocd+12:]), le.Uint32(data[eocd+16:])
	out := append([]byte{}, data[:eocd]...)
	r := make([]byte, 56)
	le.PutUint32(r, 0x06064b50)
	le.PutUint64(r[4:], 44)
	le.PutUint16(r[12:], 45)
	le.PutUint16(r[14:], 45)
	le.PutUint64(r[24:], uint64(n))
	le.PutUint64(r[32:], uint64(n))
	le.PutUint64(r[40:], uint64(size))
	le.PutUint64(r[48:], uint64(off))
	loc := make([]byte, 20)
	le.PutUint32(loc, 0x07064b50)
	le.PutUint64(loc[8:], uint64(len(out)))
	le.PutUint32(loc[16:], 1)
	out = append(append(out, r...), loc...)
	end := make([]byte, 22)
	le.PutUint32(end, 0x06054b50)
	le.PutUint16(end[8:], 0xffff)
	le.PutUint16(end[10:], 0xffff)
	le.PutUint32(end[12:], 0xffffffff)
	le.PutUint32(end[16:], 0xffffffff)
	out = append(out, end...)
	s := open(t, out)
	if s.Header().Users != 7 {
		t.Errorf("%d users", s.Header().Users)
	}
	// And one announcing 100,000 entries in its zip64 record is refused.
	le.PutUint64(out[eocd+24:], 100_000)
	le.PutUint64(out[eocd+32:], 100_000)
	checkRefusal(t, hostile{data: out, reason: "too_many_entries"})
}

// TestCorruptEntry: a flipped byte in the users' compressed data is
// refused as truncated (corrupt), never as an I/O error.
func TestCorruptEntry(t *testing.T) {
	data := writeZip(t, sampleSource(50))
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	f := zr.File[4]
	off, _ := f.DataOffset()
	for _, d := range []int64{0, 10, int64(f.CompressedSize64) / 2, int64(f.CompressedSize64) - 1} {
		bad := append([]byte{}, data...)
		bad[off+d] ^= 0x55
		_, err := Open(bytes.NewReader(bad), int64(len(bad)), sesame.DefaultRentreeLimits)
		var ie *sesame.ImportError
		if !errors.As(err, &ie) {
			t.Errorf("byte %d flipped: %v", d, err)
			continue
		}
		t.Logf("byte %d flipped: %v", d, err)
	}
	// The CRC of the directory, wrong.
	bad := append([]byte{}, data...)
	dir := bytes.LastIndex(bad, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(bad[dir+16:], crc32.ChecksumIEEE([]byte("autre")))
	checkRefusal(t, hostile{data: bad, reason: "truncated", entry: EntryUsers})
}
