package rentree

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	sesame "github.com/sesame-ecole/sesame"
)

// The reasons of the domain's ImportError documentation, and this
// package's duplicate_entry.
var knownReasons = map[string]bool{
	"not_a_zip": true, "too_many_entries": true, "too_large": true, "compression_ratio": true, "unsafe_path": true,
	"symlink": true, "unknown_entry": true, "duplicate_entry": true, "missing_entry": true, "bad_manifest": true,
	"wrong_format": true, "wrong_version": true, "schema": true, "duplicate_login": true, "duplicate_name": true,
	"bad_hash": true, "too_many_users": true, "line_too_long": true, "truncated": true,
}

// fuzzLimits keep each run small.
var fuzzLimits = sesame.RentreeLimits{MaxEntrySize: 1 << 20, MaxTotalSize: 2 << 20, MaxCompressedIn: 1 << 20, MaxLineSize: 16 << 10}

// FuzzOpen: whatever the bytes, Open neither panics nor returns anything
// but a checked source or an *sesame.ImportError; a source it accepts
// streams exactly the users its header counts, and written again it reads
// back the same.
func FuzzOpen(f *testing.F) {
	small := sampleSource(3)
	f.Add(writeZip(f, small))
	f.Add(writeProfils(f, small))
	f.Add(buildZip(f, validEntries(f)...))
	f.Add([]byte(lines(profilsHeader, `{"group":{"name":"G","type":"modif","grants":["notes.saisir-notes"],"autoDisconnect":{"enabled":true,"seconds":60}}}`, `{"user":`+goodUser+`}`)))
	f.Add(usersZip(f, goodUser, strings.Replace(goodUser, "prof.martin", "PROF.MARTIN", 1)))
	f.Add(usersZip(f, `{"login":"a","displayName":"A","kind":"staff","enabled":true,"password":"azerty"}`))
	f.Add(buildZip(f, append(validEntries(f)[:4], entry{name: EntryUsers, rawCompr: deflate([]byte(goodUser + "\n" + goodUser + "\n")), declared: 10})...))
	f.Add(buildZip(f, entry{name: "../users.jsonl", data: []byte("x")}))
	d := writeZip(f, small)
	f.Add(d[:len(d)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("{"))
	f.Add([]byte(profilsHeader + "\n{\"user\":{}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		if err != nil {
			var ie *sesame.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("Open returned %T %v, want an *sesame.ImportError", err, err)
			}
			if !knownReasons[ie.Reason] || ie.Message == "" {
				t.Fatalf("refusal without a known reason or a message: %#v", ie)
			}
			return
		}
		h := s.Header()
		var users []sesame.RentreeUser
		err = s.Users(context.Background(), func(u sesame.RentreeUser) error {
			if sesame.ValidateLogin(u.Login) != nil || u.Line <= 0 || u.Entry == "" {
				t.Fatalf("Users gave a user Open should have refused: %+v", u)
			}
			users = append(users, u)
			return nil
		})
		if err != nil {
			t.Fatalf("Users on an accepted source: %v", err)
		}
		if len(users) != h.Users || len(s.Profiles()) != h.Groups+h.Profiles+h.Spaces {
			t.Fatalf("header counts %+v, read %d users and %d profiles", h, len(users), len(s.Profiles()))
		}
		var b bytes.Buffer
		if s.Kind() == "zip" {
			err = WriteZip(&b, s, testNow)
		} else {
			err = WriteProfils(&b, s, testNow)
		}
		if err != nil {
			t.Fatalf("writing an accepted source: %v", err)
		}
		s2, err := Open(bytes.NewReader(b.Bytes()), int64(b.Len()), sesame.RentreeLimits{})
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		h2 := s2.Header()
		h2.CreatedAt = h.CreatedAt
		if h2 != h {
			t.Fatalf("header read back %+v, want %+v", h2, h)
		}
		i := 0
		err = s2.Users(context.Background(), func(u sesame.RentreeUser) error {
			u.Entry, u.Line = users[i].Entry, users[i].Line
			if u != users[i] {
				t.Fatalf("user %d read back %+v, want %+v", i, u, users[i])
			}
			i++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
