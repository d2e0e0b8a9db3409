package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sesame-ecole/sesame"
)

func testWriteImport(t *testing.T, open Opener) {
	ctx := context.Background()
	st := open(t)
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	user := func(login string, v int64) *sesame.User {
		return &sesame.User{Login: login, DisplayName: "Importé " + login, Kind: sesame.KindTeacher, Enabled: true,
			PasswordHash: argonHash, Profile: sesame.TeachersID, CreatedAt: t0, UpdatedAt: t0, Version: v}
	}
	group := &sesame.Profile{ID: "g-secretariat", Name: "Secrétariat", Mode: sesame.ModeAdmin, Group: sesame.GroupModif,
		Grants: []string{"notes.saisir-notes"}, UpdatedAt: t0}
	job := sesame.ImportJob{ID: "rentree-1", Source: "rentree.zip", State: sesame.ImportApplying, CreatedAt: t0, UpdatedAt: t0}

	j, err := st.WriteImport(ctx, k, []sesame.ImportWrite{
		{Profile: group, Create: true}, {User: user("prof.a", 0), Create: true}, {User: user("prof.b", 0), Create: true},
	}, job)
	must(t, "WriteImport", err)
	if j.Version != 1 {
		t.Fatalf("job version %d after its first write, want 1", j.Version)
	}
	got, err := st.GetImport(ctx, k, job.ID)
	must(t, "GetImport", err)
	if got.Version != 1 || got.State != sesame.ImportApplying {
		t.Fatalf("GetImport = %+v", got)
	}
	a, err := st.GetUser(ctx, k, "PROF.A")
	must(t, "GetUser", err)
	if a.Version != 1 || a.DisplayName != "Importé prof.a" {
		t.Fatalf("imported user = %+v", a)
	}
	g, err := st.GetProfile(ctx, k, group.ID)
	must(t, "GetProfile", err)
	if !sameProfile(g, *group) || g.Version != 1 {
		t.Fatalf("imported group = %+v", g)
	}

	cases := []struct {
		name   string
		ws     []sesame.ImportWrite
		job    sesame.ImportJob
		failed []int
		jobBad bool
	}{
		{"CreateExisting", []sesame.ImportWrite{{User: user("prof.c", 0), Create: true}, {User: user("Prof.A", 0), Create: true}}, j, []int{1}, false},
		{"UpdateStale", []sesame.ImportWrite{{User: user("prof.a", 7)}, {User: user("prof.b", 1)}}, j, []int{0}, false},
		{"UpdateMissing", []sesame.ImportWrite{{User: user("personne", 1)}}, j, []int{0}, false},
		{"ProfileStale", []sesame.ImportWrite{{Profile: &sesame.Profile{ID: group.ID, Name: "X", Mode: sesame.ModeAdmin, Group: sesame.GroupModif, Version: 3}}}, j, []int{0}, false},
		{"JobStale", []sesame.ImportWrite{{User: user("prof.d", 0), Create: true}}, job, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.WriteImport(ctx, k, c.ws, c.job)
			var wc *sesame.WriteConflict
			if !errors.As(err, &wc) || !errors.Is(err, sesame.ErrConflict) {
				t.Fatalf("WriteImport: %v, want a *WriteConflict", err)
			}
			if !slices.Equal(wc.Failed, c.failed) || wc.Job != c.jobBad {
				t.Fatalf("conflict names writes %v (job %v), want %v (job %v)", wc.Failed, wc.Job, c.failed, c.jobBad)
			}
			// Nothing of a refused step is written.
			for _, login := range []string{"prof.c", "prof.d", "personne"} {
				wantErr(t, "a refused write", second(st.GetUser(ctx, k, login)), sesame.ErrNotFound)
			}
			b, err := st.GetUser(ctx, k, "prof.b")
			must(t, "GetUser", err)
			if b.Version != 1 {
				t.Fatalf("prof.b changed by a refused step: version %d", b.Version)
			}
			if got, _ := st.GetImport(ctx, k, job.ID); got.Version != 1 {
				t.Fatalf("the job changed on a refused step: version %d", got.Version)
			}
		})
	}

	t.Run("UpdateAndProgress", func(t *testing.T) {
		edit := user("prof.a", 1)
		edit.DisplayName = "Mis à jour"
		j2 := j
		j2.Step = 2
		out, err := st.WriteImport(ctx, k, []sesame.ImportWrite{{User: edit}}, j2)
		must(t, "WriteImport", err)
		if out.Version != 2 || out.Step != 2 {
			t.Fatalf("job after the second step: %+v", out)
		}
		a, err := st.GetUser(ctx, k, "prof.a")
		must(t, "GetUser", err)
		if a.Version != 2 || a.DisplayName != "Mis à jour" {
			t.Fatalf("updated user = %+v", a)
		}
	})

	t.Run("TooManyWrites", func(t *testing.T) {
		ws := make([]sesame.ImportWrite, sesame.MaxImportWrites+1)
		for i := range ws {
			ws[i] = sesame.ImportWrite{User: user("trop"+NewID()[:6], 0), Create: true}
		}
		_, err := st.WriteImport(ctx, k, ws, sesame.ImportJob{ID: "trop", State: sesame.ImportApplying})
		wantErr(t, "too many writes", err, sesame.ErrInvalid)
	})
}
