// Package web serves Sésame's pages: plain HTML, one stylesheet and a
// little JavaScript, all in French, embedded in the binary. The same files
// go to the web bucket in the cloud.
//
//	mux.Handle("/", web.Handler())
//
// The pages, in static/:
//   - / (index.html, connexion.js): sign-in, POST /api/v1/login; every
//     refusal explained in French from the API's error;
//   - /accueil (accueil.html, accueil.js): the signed-in session, from
//     GET /api/v1/session and GET /api/v1/permissions; logout;
//   - /connexions (connexions.html, connexions.js): the SPR's pools and
//     connected users, from GET /api/v1/connections, and forced
//     disconnection (DELETE /api/v1/connections/{id}).
//
// sesame.js, loaded first by every page, holds what they share and exposes
// it as window.Sesame: the API calls (same-origin credentials, JSON, French
// errors), the French names of modes and pools, and Sesame.signInURL.
//
// When a session ends, a page goes to the sign-in page with the reason:
// /?raison=<reason>[&duree=<seconds>], where reason is one of the API's
// 401 reasons (idle_timeout, disconnected, replaced, seat_lost, expired,
// logged_out, missing) and duree, for idle_timeout, is the idle limit. The
// sign-in page explains it in French. The browser agent uses the same
// address when it logs out.
//
// The Content-Security-Policy forbids inline scripts and styles: every
// script is a file, and every style is in sesame.css.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// Static is the tree of files the pages are made of, as they are uploaded
// to the web bucket.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// Pages maps the pages' addresses to their files.
var Pages = map[string]string{
	"/":           "index.html",
	"/accueil":    "accueil.html",
	"/connexions": "connexions.html",
}

// Handler serves the pages and their assets, with security headers.
func Handler() http.Handler {
	static := Static()
	assets := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "Méthode non acceptée.", http.StatusMethodNotAllowed)
			return
		}
		if page, ok := Pages[r.URL.Path]; ok {
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, static, page)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if _, ok := pageFiles[name]; ok || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})
}

// pageFiles are served only at their page's address.
var pageFiles = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range Pages {
		m[f] = true
	}
	return m
}()
