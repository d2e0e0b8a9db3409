package uploads

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sesame-ecole/sesame"
)

// The content types a rentrée file is sent with: the zip written by
// "Préparer l'année suivante", or the legacy .profils file.
const (
	TypeZip    = "application/zip"
	TypeBinary = "application/octet-stream"
)

// Types lists the accepted content types, in the order the API documents them.
var Types = []string{TypeZip, TypeBinary}

// File is what a browser declares before sending a file: its exact size in
// bytes and its content type. An upload target binds both, so that a URL
// carries that one file and nothing larger or of another kind.
type File struct {
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

// Check refuses a file that may not be sent: a size of 0 or less or an
// unknown type (sesame.ErrInvalid, HTTP 400, field "size" or
// "contentType"), or a size over max (ErrTooLarge, HTTP 413).
func (f File) Check(max int64) error {
	if f.Size <= 0 {
		return sesame.Invalid("size", "Indiquez la taille du fichier en octets (un nombre entier positif).")
	}
	if f.Size > max {
		return tooLarge(max)
	}
	if !slices.Contains(Types, f.ContentType) {
		return sesame.Invalid("contentType", "Le type du fichier « %s » n'est pas accepté : envoyez un fichier de rentrée (%s).",
			f.ContentType, strings.Join(Types, " ou "))
	}
	return nil
}

// tooLarge refuses a file over max bytes, saying the limit.
func tooLarge(max int64) error {
	return &sesame.ImportError{Reason: "too_large", TooLarge: true,
		Message: "Le fichier est trop volumineux (" + strconv.FormatInt(max>>20, 10) + " Mo au plus)."}
}

// Targeter issues upload targets bound to a declared file. Both stores of
// this module implement it; httpapi asks for it (sesame.Uploads.Target
// binds nothing, so the stores refuse it).
type Targeter interface {
	// TargetFile returns where to send f as upload id of base k, checking f
	// first (see File.Check) and signing nothing when f is refused.
	TargetFile(ctx context.Context, k sesame.BaseKey, id string, f File) (sesame.UploadTarget, error)
}

// Receiver stores a file sent to a target it issued, refusing a file other
// than the one declared. The single server's PUT /uploads/{id} uses it.
type Receiver interface {
	// Receive stores r as upload id of base k; f is what the request says
	// (Content-Length and Content-Type, Size -1 when unknown). Returns
	// sesame.ErrExists when the file was already sent, sesame.ErrInvalid
	// when f or the body differs from what may be sent, and, from a store
	// that issues targets of its own (Dir), ErrNoTarget when no live
	// target was issued for id.
	Receive(ctx context.Context, k sesame.BaseKey, id string, f File, r io.Reader) error
}

// ErrUnbound refuses sesame.Uploads.Target: a target must bind the file's
// size and type (Targeter).
var ErrUnbound = sesame.Invalid("size", "Indiquez la taille et le type du fichier avant de demander où l'envoyer.")
