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
//     disconnection (DELETE /api/v1/connections/{id});
//   - /recuperation (recuperation.html, recuperation.js): the SPR's
//     "Récupérer les utilisateurs", from last year's base or a rentrée
//     file (POST /api/v1/uploads, then the PUT it names), previewed
//     (POST /api/v1/recoveries, dryRun) then applied
//     (POST /api/v1/recoveries/{id}/apply), and "Préparer l'année
//     suivante" (GET /api/v1/next-year?format=zip|profils);
//   - /utilisateurs (utilisateurs.html, utilisateurs.js): the accounts,
//     searched and paged (GET /api/v1/users), created (POST, the generated
//     password shown once), edited, deactivated or reactivated (PATCH
//     /api/v1/users/{login}), their password reset (POST
//     /api/v1/users/{login}/password);
//   - /profils (profils.html, profils.js): the admin groups, the teacher
//     and staff profiles and the spaces' settings (/api/v1/groups,
//     /profiles, /spaces): the grants editor over the catalogue, with the
//     mode's ceiling, and the automatic-disconnection control, each enabled
//     as the item's "can" says;
//   - /journal (journal.html, journal.js): the journal, filtered and paged
//     (GET /api/v1/journal), its CSV export (/api/v1/journal.csv), and the
//     seat usage per day and pool against the licence (GET /api/v1/usage);
//   - /ent (ent.html, ent.js): "Connexion via l'ENT", the SPR's identity
//     providers (/api/v1/providers): listed, added, edited with the version
//     read, deleted; the client secret is write-only (hasSecret only).
//
// The signed-in pages show the links the session may use: an element with
// data-perm="slug…" shows when the session's permissions hold one of them
// (Sesame.showLinks).
//
// libelles.js then sesame.js, loaded first by every page, hold what they
// share: window.SesameLabels, the domain's labels, and window.Sesame, the
// API calls (same-origin credentials, JSON, French errors), the French
// names of modes and pools, and Sesame.signInURL.
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
//
// The HTML pages and libelles.js are generated, and committed: the pages
// are stamped from one shell (head, top bar, navigation) and each page's
// content, in package pages (web/pages); libelles.js carries the domain's
// French labels of modes, pools, kinds and end reasons, and which profile
// mode and default profile a kind of account has, so that no script keeps
// a copy. Edit web/pages, then run `go generate ./web`; a test fails while
// static/ differs.
//
// The signed-in pages also load agent.js, which runs the browser agent
// (wasm/): it reads /agent/agent.json and instantiates the module it names
// with the wasm_exec.js of the Go that built it. The agent is build output,
// never committed: `go run ./wasm/cmd/buildagent` (make agent) writes it
// into static/agent, where go:embed picks it up; New serves another build
// through Options.Agent (the tests build their own). Without a build the
// pages work without the agent. Its files are named by their content
// (agent-<hash>.wasm, wasm_exec-<hash>.js) and served with a year of
// immutable caching, compressed ahead of time: the .br or .gz beside each
// file goes out with its Content-Encoding when the browser accepts it, and
// Vary: Accept-Encoding. Objects lists the same files and headers for the
// web bucket.
package web

//go:generate go run ./cmd/webgen -dir static

import (
	"bytes"
	"embed"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// Static is the tree of files the pages are made of, as they are uploaded
// to the web bucket. Its agent/ folder holds the agent's build, if one was
// made before the binary.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// Pages maps the pages' addresses to their files.
var Pages = map[string]string{
	"/":             "index.html",
	"/accueil":      "accueil.html",
	"/connexions":   "connexions.html",
	"/recuperation": "recuperation.html",
	"/utilisateurs": "utilisateurs.html",
	"/profils":      "profils.html",
	"/journal":      "journal.html",
	"/ent":          "ent.html",
}

// Options tune New.
type Options struct {
	// Agent holds the browser agent's build, as wasm/agentbuild writes it
	// (agent.json, agent-<hash>.wasm, wasm_exec-<hash>.js and their .gz
	// and .br), served under /agent/. Nil: the build embedded in
	// static/agent, if any.
	Agent fs.FS
}

// AgentPrefix is where the agent's files are served.
const AgentPrefix = "/agent/"

// Handler serves the pages and their assets, with security headers, and
// the embedded agent.
func Handler() http.Handler { return New(Options{}) }

// New serves the pages and their assets, with security headers, and the
// agent of o.
func New(o Options) http.Handler {
	static := Static()
	agent := o.Agent
	if agent == nil {
		agent = subFS(static, "agent")
	}
	assets := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// connect-src also allows AWS: in the cloud, the recovery page sends
		// its file to the import bucket with a presigned PUT.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' https://*.amazonaws.com; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
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
		if name, ok := strings.CutPrefix(r.URL.Path, AgentPrefix); ok {
			serveAgent(w, r, agent, name)
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

func subFS(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Cache-Control of the agent's files: the manifest is checked at every
// load; the files it names never change under their name.
const (
	cacheManifest = "no-cache"
	cacheHashed   = "public, max-age=31536000, immutable"
)

// encodings are the precompressed forms, by preference.
var encodings = []struct{ coding, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// serveAgent serves one file of the agent's build: agent.json, or a file
// named by its content in the precompressed form the browser accepts.
// Anything else under /agent/, the .gz and .br themselves included, is not
// found.
func serveAgent(w http.ResponseWriter, r *http.Request, agent fs.FS, name string) {
	h := w.Header()
	if name == "agent.json" {
		b, err := fs.ReadFile(agent, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", cacheManifest)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
		return
	}
	hash, ok := hashOf(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(agent, name); err != nil {
		http.NotFound(w, r)
		return
	}
	h.Add("Vary", "Accept-Encoding")
	file, coding := name, ""
	for _, e := range encodings {
		if accepts(r.Header.Get("Accept-Encoding"), e.coding) {
			if _, err := fs.Stat(agent, name+e.ext); err == nil {
				file, coding = name+e.ext, e.coding
				break
			}
		}
	}
	f, err := agent.Open(file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	content, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "Lecture impossible.", http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(b)
	}
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", cacheHashed)
	etag := hash
	if coding != "" {
		// A precompressed form goes whole, with its length, which
		// http.ServeContent leaves out when there is a Content-Encoding.
		h.Set("Content-Encoding", coding)
		etag += "-" + coding
		r.Header.Del("Range")
		if st, err := f.Stat(); err == nil {
			h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		}
	}
	h.Set("ETag", strconv.Quote(etag))
	http.ServeContent(w, r, name, time.Time{}, content)
}

// hashOf returns the hash in the name of a file of the agent's build,
// agent-<16 hex>.wasm or wasm_exec-<16 hex>.js.
func hashOf(name string) (string, bool) {
	for _, f := range []struct{ prefix, ext string }{{"agent-", ".wasm"}, {"wasm_exec-", ".js"}} {
		hash, ok := strings.CutPrefix(name, f.prefix)
		if !ok {
			continue
		}
		if hash, ok = strings.CutSuffix(hash, f.ext); !ok || len(hash) != 16 {
			return "", false
		}
		for _, c := range hash {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return "", false
			}
		}
		return hash, true
	}
	return "", false
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// accepts reports whether an Accept-Encoding header accepts coding: named
// with a q-value above 0, or covered by * when not named.
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		q := true
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				q = err == nil && f > 0
			}
		}
		switch {
		case strings.EqualFold(name, coding):
			return q
		case name == "*":
			star = q
		}
	}
	return star
}

// Object is a file of the web bucket and the headers to store with it.
type Object struct {
	Key             string // its path in the bucket, e.g. "agent/agent-0123456789abcdef.wasm.br"
	ContentType     string
	ContentEncoding string // "br" or "gzip" for a precompressed form of Key without its extension
	CacheControl    string
}

// Objects lists the files of static (Static(): the pages, their assets
// and the agent's build) with the headers the web bucket must store them
// with: the same as New sends. The agent's files are named by their
// content and cached for a year; their precompressed forms are objects of
// their own (X.br with Content-Encoding br, X.gz with gzip), and the CDN
// picks one by the request's Accept-Encoding (a viewer-request function
// rewriting the path, with Accept-Encoding in the cache key), as New does.
func Objects(static fs.FS) ([]Object, error) {
	var out []Object
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		o := Object{Key: p, ContentType: contentType(p), CacheControl: "no-cache"}
		if name, ok := strings.CutPrefix(p, "agent/"); ok {
			base, coding := name, ""
			for _, e := range encodings {
				if b, ok := strings.CutSuffix(name, e.ext); ok {
					base, coding = b, e.coding
				}
			}
			if _, ok := hashOf(base); ok {
				o.ContentType, o.ContentEncoding, o.CacheControl = contentType(base), coding, cacheHashed
			} else if name != "agent.json" {
				return nil // not part of a build
			}
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// pageFiles are served only at their page's address.
var pageFiles = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range Pages {
		m[f] = true
	}
	return m
}()
