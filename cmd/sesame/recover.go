package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/sources"
	"github.com/sesame-ecole/sesame/rentree"
)

// cmdRecover is "Récupérer les utilisateurs": from a rentrée file or from
// last year's base into the base of --year.
func cmdRecover(ctx context.Context, e env, args []string) error {
	f := newFlags("recover")
	uai := f.String("uai", "", "UAI")
	year := f.String("year", "", "année scolaire de la base qui reçoit")
	file := f.String("file", "", "fichier de rentrée (.zip ou .profils)")
	fromYear := f.String("from-year", "", "année scolaire de la base d'origine")
	add := f.Bool("add", false, "ajouter les utilisateurs manquants")
	update := f.Bool("update", false, "mettre à jour les utilisateurs existants")
	dry := f.Bool("dry-run", false, "aperçu seulement")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year"); err != nil {
		return err
	}
	if (*file == "") == (*fromYear == "") {
		return &usageError{"donnez soit --file (un fichier de rentrée), soit --from-year (la base d'une année précédente)."}
	}
	opts := sesame.RecoverOptions{Add: *add, Update: *update, DryRun: *dry}
	if err := opts.Validate(); err != nil {
		return &usageError{sesame.ErrorMessage(err) + " (--add, --update)"}
	}
	k, err := sesame.ParseBaseKey(*uai, *year)
	if err != nil {
		return err
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	if *file != "" {
		// The file is kept as an upload of the base, so that a dry run made
		// here can be applied later from the web pages.
		up, err := app.UploadsFor(*f.store)
		if err != nil {
			return err
		}
		id, err := putFile(ctx, up, k, *file)
		if err != nil {
			return err
		}
		ref := sesame.FromUpload(id)
		src, closeSrc, err := sources.Open(ctx, svc, up, k, ref)
		if err != nil {
			return err
		}
		defer closeSrc()
		return recoverFrom(ctx, e, svc, k, src, ref, *file, opts)
	}
	y, err := sesame.ParseYear(*fromYear)
	if err != nil {
		return err
	}
	ref := sesame.FromYear(y)
	src, closeSrc, err := sources.Open(ctx, svc, nil, k, ref)
	if err != nil {
		return err
	}
	defer closeSrc()
	return recoverFrom(ctx, e, svc, k, src, ref, "la base "+*fromYear, opts)
}

// putFile stores the file at path as an upload named by its digest.
func putFile(ctx context.Context, up sesame.Uploads, k sesame.BaseKey, path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", sesame.Invalid("file", "Le fichier « %s » ne peut pas être lu : %v", path, errors.Unwrap(err))
	}
	defer fh.Close()
	h := sha256.New()
	size, err := io.Copy(h, fh)
	if err != nil {
		return "", fmt.Errorf("lecture de %s : %w", path, err)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	id := "cli-" + hex.EncodeToString(h.Sum(nil))[:32]
	if err := up.Put(ctx, k, id, fh, size); err != nil {
		return "", err
	}
	return id, nil
}

func recoverFrom(ctx context.Context, e env, svc *sesame.Service, k sesame.BaseKey, src sesame.RentreeSource, ref sesame.SourceRef, label string, opts sesame.RecoverOptions) error {
	rep, err := svc.Recover(ctx, k, src, ref, opts)
	if err != nil {
		return err
	}
	printReport(e.stdout, k, label, rep)
	return nil
}

// printReport writes a recovery report in French.
func printReport(w io.Writer, k sesame.BaseKey, label string, r sesame.RecoveryReport) {
	switch {
	case r.AlreadyApplied:
		fmt.Fprintf(w, "Ce contenu a déjà été récupéré dans la base %s de %s avec ces options : rien n'a changé. Voici le rapport d'alors.\n", k.Year, k.UAI)
	case r.DryRun:
		fmt.Fprintf(w, "Aperçu de la récupération depuis %s dans la base %s de %s (rien n'est appliqué).\n", label, k.Year, k.UAI)
	default:
		fmt.Fprintf(w, "Récupération depuis %s dans la base %s de %s appliquée.\n", label, k.Year, k.UAI)
	}
	verb := map[bool]string{true: "à ajouter", false: "ajoutés"}[r.DryRun]
	fmt.Fprintf(w, "Utilisateurs : %d %s, %d %s, %d inchangés, %d ignorés, %d rejetés.\n", r.Added, verb, r.Updated,
		map[bool]string{true: "à mettre à jour", false: "mis à jour"}[r.DryRun], r.Unchanged, r.Skipped, len(r.Rejected))
	for _, p := range r.Profiles {
		if p.Action == "add" || p.Action == "update" || p.Action == "rejected" {
			fmt.Fprintf(w, "  %s « %s » (%s) : %s\n", map[bool]string{true: "groupe", false: "profil"}[p.Mode == sesame.ModeAdmin],
				p.Name, p.Mode.Label(), map[string]string{"add": "créé", "update": "mis à jour", "rejected": "rejeté"}[p.Action])
		}
	}
	for _, x := range r.Rejected {
		where := x.Entry
		if x.Line > 0 {
			where += fmt.Sprintf(", ligne %d", x.Line)
		}
		fmt.Fprintf(w, "  rejeté : %s (%s) : %s [%s]\n", x.Login, where, x.Message, x.Code)
	}
	if r.Truncated {
		fmt.Fprintf(w, "  (listes abrégées à %d entrées ; les totaux sont complets)\n", sesame.ReportListMax)
	}
	if r.DryRun {
		fmt.Fprintf(w, "Identifiant de l'aperçu : %s (à appliquer depuis la page « Récupérer les utilisateurs », ou relancez sans --dry-run).\n", r.ID)
	}
}

// cmdPrepareNextYear is "Préparer l'année suivante": the rentrée file of a
// base.
func cmdPrepareNextYear(ctx context.Context, e env, args []string) error {
	f := newFlags("prepare-next-year")
	uai := f.String("uai", "", "UAI")
	year := f.String("year", "", "année scolaire")
	out := f.String("out", "", "fichier à écrire")
	format := f.String("format", "zip", "zip ou profils")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "out"); err != nil {
		return err
	}
	if *format != "zip" && *format != "profils" {
		return &usageError{"--format vaut zip ou profils."}
	}
	k, err := sesame.ParseBaseKey(*uai, *year)
	if err != nil {
		return err
	}
	svc, done, err := f.open(ctx, e, sesame.DefaultTiming)
	if err != nil {
		return err
	}
	defer done()
	src, err := svc.BaseSource(ctx, k)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".rentree-*")
	if err != nil {
		return sesame.Invalid("out", "Impossible d'écrire dans le dossier de « %s » : %v", *out, errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name())
	if *format == "zip" {
		err = rentree.WriteZip(tmp, src, time.Now().UTC())
	} else {
		err = rentree.WriteProfils(tmp, src, time.Now().UTC())
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("écriture du fichier de rentrée : %w", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("écriture de %s : %w", *out, err)
	}
	// Read back what was written: the counts it reports are the file's.
	fh, err := os.Open(*out)
	if err != nil {
		return fmt.Errorf("relecture de %s : %w", *out, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("relecture de %s : %w", *out, err)
	}
	written, err := rentree.Open(fh, st.Size(), sesame.DefaultRentreeLimits)
	if err != nil {
		return fmt.Errorf("relecture de %s : %w", *out, err)
	}
	h := written.Header()
	fmt.Fprintf(e.stdout, "Fichier de rentrée écrit : %s (%s, base %s de %s) : %d groupes, %d profils, %d utilisateurs.\n",
		*out, *format, h.Year, h.UAI, h.Groups, h.Profiles, h.Users)
	return nil
}
