package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
)

func TestPrepareAndRecover(t *testing.T) {
	store := tempStore(t)
	createSchool(t, store)
	addUser(t, store, "prof.martin", "teacher")
	addUser(t, store, "cpe", "staff", "--profile", "Personnels")
	addUser(t, store, "parent.durand", "parent")
	next := "2027-2028"
	sesameCmd(t, pw+"\n", "school", "create", "--store", store, "--uai", uai, "--name", "Collège", "--year", next, "--spr-password-stdin").ok(t)
	dir := t.TempDir()
	zip, profils := filepath.Join(dir, "rentree.zip"), filepath.Join(dir, "rentree.profils")

	out := sesameCmd(t, "", "prepare-next-year", "--store", store, "--uai", uai, "--year", year, "--out", zip).ok(t)
	if !strings.Contains(out, "4 utilisateurs") {
		t.Fatalf("prepare-next-year: %s", out)
	}
	out = sesameCmd(t, "", "prepare-next-year", "--store", store, "--uai", uai, "--year", year, "--out", profils, "--format", "profils").ok(t)
	if !strings.Contains(out, "3 utilisateurs") { // staff and teachers only
		t.Fatalf("prepare-next-year profils: %s", out)
	}

	// A dry run, then the real thing.
	dry := sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", zip, "--add", "--dry-run").ok(t)
	if !strings.Contains(dry, "3 à ajouter") || !strings.Contains(dry, "rien n'est appliqué") || !strings.Contains(dry, "Identifiant de l'aperçu : rec-") {
		t.Fatalf("dry run: %s", dry)
	}
	done := sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", zip, "--add").ok(t)
	if !strings.Contains(done, "3 ajoutés") || !strings.Contains(done, "1 rejetés") || !strings.Contains(done, "[protected]") {
		t.Fatalf("recover: %s", done)
	}
	withService(t, store, func(svc *sesame.Service, st sesame.Backend) {
		if err := svc.UseYear(t.Context(), uai, next); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Login(t.Context(), sesame.LoginRequest{School: uai, Login: "prof.martin", Password: pw, Mode: "teacher", Address: "x"}); err != nil {
			t.Fatalf("last year's teacher in the new year: %v", err)
		}
	})
	again := sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", zip, "--add").ok(t)
	if !strings.Contains(again, "déjà été récupéré") {
		t.Fatalf("second run: %s", again)
	}
	// From last year's base, update only.
	fromBase := sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--from-year", year, "--update").ok(t)
	if !strings.Contains(fromBase, "3 inchangés") {
		t.Fatalf("from last year's base: %s", fromBase)
	}

	// Refusals.
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", zip).refused(t, exitUsage, "--add")
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--add").refused(t, exitUsage, "--file")
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--add", "--file", zip, "--from-year", year).refused(t, exitUsage, "--from-year")
	bad := filepath.Join(dir, "faux.zip")
	if err := os.WriteFile(bad, []byte("ceci n'est pas un zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", bad, "--add").refused(t, exitFailure, "invalid_import")
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", year, "--file", zip, "--add").refused(t, exitFailure, "antérieure")
	sesameCmd(t, "", "recover", "--store", store, "--uai", uai, "--year", next, "--file", filepath.Join(dir, "absent.zip"), "--add").refused(t, exitUsage, "ne peut pas être lu")
	sesameCmd(t, "", "prepare-next-year", "--store", store, "--uai", uai, "--year", year, "--out", zip, "--format", "csv").refused(t, exitUsage, "--format")
	sesameCmd(t, "", "prepare-next-year", "--store", store, "--uai", uai, "--year", "2019-2020", "--out", zip).refused(t, exitFailure, "introuvable")
}
