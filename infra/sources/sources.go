// Package sources opens a recovery's source from its reference
// (sesame.SourceRef): a previous base of the same school, an uploaded
// rentrée file, or an object version of the import bucket. The HTTP API,
// the command line and the S3 trigger all open sources through Open.
//
//	src, done, err := sources.Open(ctx, svc, uploads, k, sesame.FromYear("2025-2026"))
//	if err != nil { … }
//	defer done()
//	report, err := svc.Recover(ctx, k, src, ref, opts)
package sources

import (
	"context"
	"strings"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/rentree"
)

// ObjectOpener is an upload store that can open any object version of its
// bucket (the import bucket in the cloud).
type ObjectOpener interface {
	OpenKey(ctx context.Context, key, version string) (sesame.Upload, error)
}

// Open opens the source ref names for base k; the returned func releases
// it. An object of the import bucket opens only under base k's own prefix
// (imports/<uai>/<year>/), so a reference never reaches another school.
func Open(ctx context.Context, svc *sesame.Service, up sesame.Uploads, k sesame.BaseKey, ref sesame.SourceRef) (sesame.RentreeSource, func(), error) {
	switch ref.Kind {
	case sesame.SourceYear:
		src, err := svc.BaseSource(ctx, sesame.BaseKey{UAI: k.UAI, Year: ref.Year})
		return src, func() {}, err
	case sesame.SourceUpload:
		if up == nil {
			return nil, nil, &sesame.Error{Code: sesame.CodeNotConfigured, Message: "Le dépôt de fichiers n'est pas configuré sur ce serveur."}
		}
		return read(up.Open(ctx, k, ref.Upload))
	case sesame.SourceObject:
		opener, ok := up.(ObjectOpener)
		if !ok || !strings.HasPrefix(ref.Key, "imports/"+string(k.UAI)+"/"+string(k.Year)+"/") {
			return nil, nil, NotFound(ref)
		}
		return read(opener.OpenKey(ctx, ref.Key, ref.Version))
	}
	return nil, nil, sesame.Invalid("source", "Source de récupération inconnue : « %s ».", ref)
}

// read reads an opened rentrée file; the returned func closes it.
func read(f sesame.Upload, err error) (sesame.RentreeSource, func(), error) {
	if err != nil {
		return nil, nil, err
	}
	src, err := rentree.Open(f, f.Size(), sesame.DefaultRentreeLimits)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return src, func() { f.Close() }, nil
}

// NotFound says that a recovery's source cannot be found from here.
func NotFound(ref sesame.SourceRef) error {
	return sesame.NotFound("Le fichier de cette récupération (" + ref.String() + ")")
}
