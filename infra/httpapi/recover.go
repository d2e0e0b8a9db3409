package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/sources"
	"github.com/sesame-ecole/sesame/rentree"
)

// The recovery routes: "Récupérer les utilisateurs" and "Préparer l'année
// suivante", for the SPR of the session's own base.

// maxDirectBody is the largest file sent in the body of POST /recoveries
// or PUT /uploads/{id}; larger files go through an upload (in the cloud a
// presigned PUT to S3, since an HTTP API body cannot carry them).
const maxDirectBody = 64 << 20

func newUploadID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "u-" + hex.EncodeToString(b[:])
}

func (a *api) needUploads() error {
	if a.cfg.Uploads == nil {
		return &apiError{status: http.StatusNotImplemented, code: "not_configured", message: "Le dépôt de fichiers n'est pas configuré sur ce serveur."}
	}
	return nil
}

// uploads answers POST /uploads {"size", "contentType"}: where to send that
// file. A file over the rentrée limit or of another type is refused before
// anything is signed; the target binds the size and type (see
// sesame.Uploads.Target).
func (a *api) uploads(w http.ResponseWriter, r *http.Request) {
	cur, err := a.svc.Require(r.Context(), token(r), sesame.ActionSPRRecover)
	if err == nil {
		err = a.needUploads()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	infoOf(r).school = string(cur.Session.UAI)
	var f sesame.UploadFile
	if err := decode(r, &f); err != nil {
		writeError(w, r, err)
		return
	}
	t, err := a.cfg.Uploads.Target(r.Context(), cur.Session.Base(), newUploadID(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uploadId": t.ID, "url": t.URL, "method": t.Method, "headers": t.Headers,
		"expiresAt": t.Expires.UTC().Format(time.RFC3339), "maxBytes": sesame.DefaultRentreeLimits.MaxCompressedIn})
}

// putUpload answers PUT /uploads/{id} (the single server's upload address):
// the file declared to POST /uploads, with its type and exact length.
func (a *api) putUpload(w http.ResponseWriter, r *http.Request) {
	cur, err := a.svc.Require(r.Context(), token(r), sesame.ActionSPRRecover)
	if err == nil {
		err = a.needUploads()
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	max := sesame.DefaultRentreeLimits.MaxCompressedIn
	if r.ContentLength > max {
		writeError(w, r, tooLarge(&http.MaxBytesError{Limit: max}))
		return
	}
	body := http.MaxBytesReader(w, r.Body, max)
	f := sesame.UploadFile{Size: r.ContentLength, ContentType: r.Header.Get("Content-Type")}
	if err := a.cfg.Uploads.Receive(r.Context(), cur.Session.Base(), r.PathValue("id"), f, body); err != nil {
		writeError(w, r, tooLarge(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &sesame.ImportError{Reason: "too_large", TooLarge: true, Message: "Le fichier est trop volumineux (" +
			strconv.FormatInt(mbe.Limit>>20, 10) + " Mo au plus)."}
	}
	return err
}

type recoverBody struct {
	Upload   string `json:"upload"`
	FromYear string `json:"fromYear"`
	Add      *bool  `json:"add"`
	Update   *bool  `json:"update"`
	DryRun   *bool  `json:"dryRun"`
}

// options reads add, update and dryRun from the query, then the body.
func options(r *http.Request, b recoverBody) (sesame.RecoverOptions, error) {
	var o sesame.RecoverOptions
	for name, dst := range map[string]*bool{"add": &o.Add, "update": &o.Update, "dryRun": &o.DryRun} {
		if v := r.URL.Query().Get(name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return o, badRequest("Le paramètre « " + name + " » vaut true ou false.")
			}
			*dst = x
		}
	}
	if b.Add != nil {
		o.Add = *b.Add
	}
	if b.Update != nil {
		o.Update = *b.Update
	}
	if b.DryRun != nil {
		o.DryRun = *b.DryRun
	}
	return o, nil
}

// recoveries answers POST /recoveries: the file in the body, or JSON naming
// an upload or last year's base.
func (a *api) recoveries(w http.ResponseWriter, r *http.Request) {
	cur, err := a.svc.Require(r.Context(), token(r), sesame.ActionSPRRecover)
	if err != nil {
		writeError(w, r, err)
		return
	}
	infoOf(r).school = string(cur.Session.UAI)
	k := cur.Session.Base()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var b recoverBody
	var ref sesame.SourceRef
	if mt == "application/json" {
		if err := decode(r, &b); err != nil {
			writeError(w, r, err)
			return
		}
		switch {
		case b.Upload != "" && b.FromYear == "":
			ref = sesame.FromUpload(b.Upload)
		case b.FromYear != "" && b.Upload == "":
			y, err := sesame.ParseYear(b.FromYear)
			if err != nil {
				writeError(w, r, err)
				return
			}
			ref = sesame.FromYear(y)
		default:
			writeError(w, r, badRequest("Donnez soit « upload » (un fichier déposé), soit « fromYear » (la base d'une année précédente)."))
			return
		}
	}
	opts, err := options(r, b)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := opts.Validate(); err != nil {
		writeError(w, r, err)
		return
	}
	if ref.Kind == "" { // the file itself, kept as an upload so that a dry run can be applied later
		if err := a.needUploads(); err != nil {
			writeError(w, r, err)
			return
		}
		id := newUploadID()
		body := http.MaxBytesReader(w, r.Body, maxDirectBody)
		if err := a.cfg.Uploads.Put(r.Context(), k, id, body, r.ContentLength); err != nil {
			writeError(w, r, tooLarge(err))
			return
		}
		ref = sesame.FromUpload(id)
	}
	src, done, err := a.openSource(r.Context(), k, ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer done()
	rep, err := a.svc.Recover(sesame.WithActor(r.Context(), cur.User.Login), k, src, ref, opts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// applyRecovery answers POST /recoveries/{id}/apply.
func (a *api) applyRecovery(w http.ResponseWriter, r *http.Request) {
	cur, err := a.svc.Require(r.Context(), token(r), sesame.ActionSPRRecover)
	if err != nil {
		writeError(w, r, err)
		return
	}
	k := cur.Session.Base()
	id := r.PathValue("id")
	ref, _, err := a.svc.PlannedSource(r.Context(), k, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	src, done, err := a.openSource(r.Context(), k, ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer done()
	rep, err := a.svc.ApplyPlan(sesame.WithActor(r.Context(), cur.User.Login), k, id, src)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// openSource opens what a recovery reads (see infra/sources).
func (a *api) openSource(ctx context.Context, k sesame.BaseKey, ref sesame.SourceRef) (sesame.RentreeSource, func(), error) {
	return sources.Open(ctx, a.svc, a.cfg.Uploads, k, ref)
}

// nextYear answers GET /next-year?format=zip|profils: the rentrée file of
// the session's base (Préparer l'année suivante).
func (a *api) nextYear(w http.ResponseWriter, r *http.Request) {
	cur, err := a.svc.Require(r.Context(), token(r), sesame.ActionSPRPrepare)
	if err != nil {
		writeError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "zip"
	}
	if format != "zip" && format != "profils" {
		writeError(w, r, badRequest("Le format est zip ou profils."))
		return
	}
	k := cur.Session.Base()
	src, err := a.svc.BaseSource(r.Context(), k)
	if err != nil {
		writeError(w, r, err)
		return
	}
	name := "rentree-" + string(k.UAI) + "-" + string(k.Year)
	if format == "zip" {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.zip"`)
		err = rentree.WriteZip(w, src, a.svc.Clock.Now().UTC())
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.profils"`)
		err = rentree.WriteProfils(w, src, a.svc.Clock.Now().UTC())
	}
	if err != nil {
		infoOf(r).err = err // the answer has begun: the download is cut short
	}
}
