package rentree

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	sesame "github.com/sesame-ecole/sesame"
)

// WriteZip writes src as a rentrée .zip (format version 1), created at
// now: the manifest, the groups, profiles and space settings, then the
// users, streamed from src. When src's header does not give the number of
// users (Users < 0), src.Users is read twice: once to count them. The
// output depends only on src and now.
//
// It refuses (with an error, before or while writing) what Open would
// refuse: a group, profile or user that breaks the format, or a source
// whose users are not as many as its header said.
func WriteZip(w io.Writer, src sesame.RentreeSource, now time.Time) error {
	h := src.Header()
	ctx := context.Background()
	school, err := writtenHeader(&h)
	if err != nil {
		return err
	}
	groups, profiles, spaces, err := splitProfiles(src.Profiles(), true)
	if err != nil {
		return err
	}
	users := h.Users
	if users < 0 {
		users = 0
		if err := src.Users(ctx, func(sesame.RentreeUser) error { users++; return nil }); err != nil {
			return err
		}
	}
	man := manifestJSON{
		Format: FormatRentree, Version: Version, School: school, Year: string(h.Year),
		CreatedAt: now.UTC().Format(time.RFC3339),
		Counts:    countsJSON{Groups: len(groups), Profiles: len(profiles), Spaces: len(spaces), Users: users},
	}

	zw := zip.NewWriter(w)
	modified := now.UTC().Truncate(time.Second)
	create := func(name string, method uint16) (io.Writer, error) {
		fh := &zip.FileHeader{Name: name, Method: method, Modified: modified}
		fh.SetMode(0o644)
		return zw.CreateHeader(fh)
	}
	var lw lineWriter
	entries := []struct {
		name  string
		lines []any
	}{
		{EntryManifest, []any{man}},
		{EntryGroups, groups},
		{EntryProfiles, profiles},
		{EntrySpaces, spaces},
	}
	var content bytes.Buffer
	fw, _ := flate.NewWriter(nil, 5)
	for _, e := range entries {
		content.Reset()
		for _, l := range e.lines {
			if err := lw.write(&content, l); err != nil {
				return err
			}
		}
		// Many groups with the same grants compress very well: store
		// them rather than go near the ratio a reader refuses.
		method := zip.Deflate
		if n := uint64(content.Len()); n/max(deflatedSize(fw, content.Bytes()), 1) > uint64(sesame.DefaultRentreeLimits.MaxRatio)/4 {
			method = zip.Store
		}
		ew, err := create(e.name, method)
		if err != nil {
			return err
		}
		if _, err := ew.Write(content.Bytes()); err != nil {
			return err
		}
	}
	ew, err := create(EntryUsers, zip.Deflate)
	if err != nil {
		return err
	}
	n := 0
	err = src.Users(ctx, func(u sesame.RentreeUser) error {
		n++
		uj, err := writtenUser(EntryUsers, n, u, false)
		if err != nil {
			return err
		}
		return lw.write(ew, uj)
	})
	if err != nil {
		return err
	}
	if n != users {
		return fmt.Errorf("rentree: la source annonçait %d utilisateurs et en a donné %d", users, n)
	}
	return zw.Close()
}

// WriteProfils writes src as a .profils file (format version 1), created
// at now: the header, the groups and profiles, then the staff and teachers
// among the users, streamed from src. Space settings and other users are
// left out.
func WriteProfils(w io.Writer, src sesame.RentreeSource, now time.Time) error {
	h := src.Header()
	school, err := writtenHeader(&h)
	if err != nil {
		return err
	}
	groups, profiles, _, err := splitProfiles(src.Profiles(), false)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var lw lineWriter
	hj := headerJSON{Format: FormatProfils, Version: Version, School: school, Year: string(h.Year), CreatedAt: now.UTC().Format(time.RFC3339)}
	if err := lw.write(bw, hj); err != nil {
		return err
	}
	for _, g := range groups {
		if err := lw.write(bw, profilsLine{Group: g.(*groupJSON)}); err != nil {
			return err
		}
	}
	for _, p := range profiles {
		if err := lw.write(bw, profilsLine{Profile: p.(*profileJSON)}); err != nil {
			return err
		}
	}
	line := 1 + len(groups) + len(profiles)
	err = src.Users(context.Background(), func(u sesame.RentreeUser) error {
		if u.Kind.ProfileMode() == "" {
			return nil
		}
		line++
		uj, err := writtenUser(EntryProfils, line, u, true)
		if err != nil {
			return err
		}
		return lw.write(bw, profilsLine{User: uj})
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// deflatedSize is the size of b deflated as archive/zip does (level 5),
// with fw, reset.
func deflatedSize(fw *flate.Writer, b []byte) uint64 {
	var c counter
	fw.Reset(&c)
	fw.Write(b)
	fw.Close()
	return uint64(c)
}

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// lineWriter writes JSON lines, no longer than a reader accepts by default.
type lineWriter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (lw *lineWriter) write(w io.Writer, v any) error {
	if lw.enc == nil {
		lw.enc = json.NewEncoder(&lw.buf)
		lw.enc.SetEscapeHTML(false)
	}
	lw.buf.Reset()
	if err := lw.enc.Encode(v); err != nil {
		return err
	}
	if lw.buf.Len()-1 > sesame.DefaultRentreeLimits.MaxLineSize {
		return fmt.Errorf("rentree: une ligne dépasserait %d octets", sesame.DefaultRentreeLimits.MaxLineSize)
	}
	_, err := w.Write(lw.buf.Bytes())
	return err
}

// unwritable is the error of a source that breaks the format.
func unwritable(what string, err *sesame.ImportError) error {
	return fmt.Errorf("rentree: %s ne peut pas être écrit : %s", what, err.Message)
}

// writtenHeader checks the source's school and year, and returns them as
// written (the UAI in capitals, the year trimmed).
func writtenHeader(h *sesame.RentreeHeader) (schoolJSON, error) {
	s := schoolJSON{UAI: string(h.UAI), Name: h.SchoolName}
	c, err := checkHeader("", 0, s, string(h.Year), "2000-01-01T00:00:00Z")
	if err != nil {
		return s, unwritable("l'en-tête", err)
	}
	s.UAI, h.Year = string(c.UAI), c.Year
	return s, nil
}

// splitProfiles sorts the source's profiles into groups, profiles and
// spaces (as *groupJSON, *profileJSON, *spaceJSON), checked as Open will.
func splitProfiles(ps []sesame.Profile, withSpaces bool) (groups, profiles, spaces []any, err error) {
	ns := nameSet{}
	for _, p := range ps {
		auto := autoJSON{Enabled: p.AutoDisconnect.Enabled, Seconds: int64(p.AutoDisconnect.After / time.Second)}
		what := fmt.Sprintf("le %s « %s »", p.Kind(), printable(p.Name, 100))
		var ierr *sesame.ImportError
		switch {
		case p.Mode == sesame.ModeAdmin:
			g := &groupJSON{Name: p.Name, Type: string(p.Group), Grants: grantsCopy(p.Grants), AutoDisconnect: auto}
			if _, ierr = groupProfile("", 0, g); ierr == nil {
				ierr = ns.add("", 0, p, "name", p.Name)
			}
			groups = append(groups, g)
		case p.Mode == sesame.ModeTeacher || p.Mode == sesame.ModeVieScolaire:
			pj := &profileJSON{Name: p.Name, Mode: string(p.Mode), Grants: grantsCopy(p.Grants), AutoDisconnect: auto}
			if _, ierr = profileProfile("", 0, pj); ierr == nil {
				ierr = ns.add("", 0, p, "name", p.Name)
			}
			profiles = append(profiles, pj)
		case p.Mode.IsSpace():
			if !withSpaces {
				continue
			}
			if len(p.Grants) > 0 {
				return nil, nil, nil, fmt.Errorf("rentree: %s ne peut pas être écrit : un espace n'a pas d'autorisations", what)
			}
			sj := &spaceJSON{Space: string(p.Mode), AutoDisconnect: auto}
			if _, ierr = spaceProfile("", 0, sj); ierr == nil {
				ierr = ns.add("", 0, p, "space", string(p.Mode))
			}
			spaces = append(spaces, sj)
		default:
			return nil, nil, nil, fmt.Errorf("rentree: %s ne peut pas être écrit : le mode « %s » n'existe pas", what, p.Mode)
		}
		if ierr != nil {
			return nil, nil, nil, unwritable(what, ierr)
		}
	}
	return groups, profiles, spaces, nil
}

func writtenUser(entry string, line int, u sesame.RentreeUser, profils bool) (*userJSON, error) {
	uj := &userJSON{
		Login: u.Login, DisplayName: u.DisplayName, Kind: string(u.Kind), Enabled: u.Enabled,
		Supervisor: u.Supervisor, PasswordHash: u.PasswordHash, AdminGroup: u.AdminGroup, Profile: u.Profile,
		ENTID: u.ENTID,
	}
	if _, ierr := checkUser(entry, line, uj, profils); ierr != nil {
		return nil, unwritable(fmt.Sprintf("l'utilisateur « %s »", printable(u.Login, 64)), ierr)
	}
	return uj, nil
}
