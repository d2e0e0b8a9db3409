package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Cookie names.
const (
	SessionCookie = "sesame_session"
	DeviceCookie  = "sesame_device"
)

// Config configures the API.
type Config struct {
	Service *sesame.Service
	Logger  *slog.Logger
	// AddressHeader names the header that carries the client's address,
	// set by a trusted proxy: "CloudFront-Viewer-Address" in the cloud.
	// Empty: the connection's address.
	AddressHeader string
	// OriginSecret, when set, must come in the X-Origin-Secret header:
	// CloudFront adds it, so calls that bypass CloudFront are refused.
	OriginSecret string
	// Secure forces Secure cookies (always so in the cloud). Otherwise
	// they are Secure when the request came over HTTPS (see site.go).
	Secure bool
	// PublicOrigins, when set, are the site's own origins (the single
	// server's --public-url): CheckHost refuses any other host, and a
	// non-GET request must come from one of them. Empty: the request's
	// own host is the site's (in the cloud, the X-Forwarded-Host that
	// CloudFront sets).
	PublicOrigins []Origin
	// TrustedProxies are the peers whose X-Forwarded-Host,
	// X-Forwarded-Proto and X-Forwarded-For are believed (the single
	// server's --trusted-proxy).
	TrustedProxies []netip.Prefix
	// Uploads keeps rentrée files sent for recovery (nil: the upload and
	// recovery-from-file routes answer 501 not_configured).
	Uploads sesame.Uploads
	// Function, when set, restricts the API to the routes that Lambda
	// function serves (Route.Function); the others answer 404 not_found,
	// as unknown routes do. Empty: every route (the single server).
	Function string
	// Federation signs people in through the schools' identity providers
	// (infra/ssoweb; nil: those routes answer 501 not_configured, unless
	// the Function brings one, see Function.With).
	Federation Federation
}

// Route is one route of the API and the Lambda function that serves it
// in the cloud.
type Route struct {
	Method   string
	Path     string // under /api/v1, with {name} wildcards
	Function string // functions/<Function>
}

// Prefix is where the API lives.
const Prefix = "/api/v1"

// Routes lists every route of the API; the router, the OpenAPI document
// and template.yaml are checked against it.
var Routes = []Route{
	{"POST", "/login", "login"},
	{"GET", "/session", "seats"},
	{"POST", "/heartbeat", "seats"},
	{"POST", "/logout", "seats"},
	{"GET", "/connections", "seats"},
	{"DELETE", "/connections/{id}", "seats"},
	{"GET", "/authorize", "authorize"},
	{"GET", "/permissions", "authorize"},
	{"GET", "/openapi.json", "authorize"},
	{"POST", "/uploads", "recover"},
	{"PUT", "/uploads/{id}", "recover"},
	{"POST", "/recoveries", "recover"},
	{"POST", "/recoveries/{id}/apply", "recover"},
	{"GET", "/next-year", "recover"},
	{"GET", "/users", "admin"},
	{"POST", "/users", "admin"},
	{"GET", "/users/{login}", "admin"},
	{"PATCH", "/users/{login}", "admin"},
	{"POST", "/users/{login}/password", "admin"},
	{"GET", "/groups", "admin"},
	{"POST", "/groups", "admin"},
	{"GET", "/groups/{id}", "admin"},
	{"PATCH", "/groups/{id}", "admin"},
	{"DELETE", "/groups/{id}", "admin"},
	{"GET", "/profiles", "admin"},
	{"POST", "/profiles", "admin"},
	{"GET", "/profiles/{id}", "admin"},
	{"PATCH", "/profiles/{id}", "admin"},
	{"DELETE", "/profiles/{id}", "admin"},
	{"GET", "/spaces", "admin"},
	{"GET", "/spaces/{id}", "admin"},
	{"PATCH", "/spaces/{id}", "admin"},
	{"GET", "/journal", "admin"},
	{"GET", "/journal.csv", "admin"},
	{"GET", "/usage", "admin"},
	{"GET", "/providers", "admin"},
	{"POST", "/providers", "admin"},
	{"GET", "/providers/{id}", "admin"},
	{"PUT", "/providers/{id}", "admin"},
	{"DELETE", "/providers/{id}", "admin"},
	{"GET", "/login/providers", "login"},
	{"GET", SSOStartPath, "login"},
	{"GET", SSOCallbackPath, "login"},
	{"POST", SSOACSPath, "login"},
	{"GET", SSOLogoutPath, "login"},
}

type api struct {
	cfg  Config
	svc  *sesame.Service
	log  *slog.Logger
	site site
	sso  ssoState
}

// New returns the API as one http.Handler serving Prefix: every route
// (the single server), or only cfg.Function's when it is set. It links
// every route's handler; a Lambda function uses NewFunction.
func New(cfg Config) http.Handler {
	fs := Functions()
	if cfg.Function != "" {
		fs = slices.DeleteFunc(fs, func(f Function) bool { return f.Name != cfg.Function })
		if len(fs) == 0 {
			panic("httpapi: no route is served by function " + cfg.Function)
		}
	}
	return newAPI(cfg, fs)
}

// NewFunction returns the API of Lambda function f: its routes alone, the
// others answering 404 not_found as unknown routes do. Only f's handlers
// are linked into the caller's binary.
func NewFunction(cfg Config, f Function) http.Handler {
	cfg.Function = f.Name
	return newAPI(cfg, []Function{f})
}

// newAPI serves the routes of fs, each with its function's handler.
func newAPI(cfg Config, fs []Function) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	for _, f := range fs {
		if cfg.Federation == nil && f.federation != nil {
			cfg.Federation = f.federation
		}
	}
	a := &api{cfg: cfg, svc: cfg.Service, log: cfg.Logger, site: newSite(cfg)}
	handlers := map[string]http.HandlerFunc{}
	served := map[string]bool{}
	for _, f := range fs {
		served[f.Name] = true
		maps.Copy(handlers, f.handlers(a))
	}
	var routes []Route
	mux := http.NewServeMux()
	for _, rt := range Routes {
		if !served[rt.Function] {
			continue
		}
		pattern := rt.Method + " " + rt.Path
		h, ok := handlers[pattern]
		if !ok {
			panic("httpapi: no handler for " + pattern)
		}
		delete(handlers, pattern)
		routes = append(routes, rt)
		mux.Handle(rt.Method+" "+Prefix+rt.Path, a.wrap(rt.Path, h))
	}
	for pattern := range handlers {
		panic("httpapi: a handler for " + pattern + ", a route that Routes does not give its function")
	}
	// A path without a method matches every method; the patterns above,
	// more specific, win, so these answer only the wrong methods.
	allowed := map[string][]string{}
	for _, rt := range routes {
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	for path, methods := range allowed {
		mux.HandleFunc(Prefix+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethod, message: "Cette méthode n'est pas acceptée à cette adresse."})
		})
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "Cette adresse de l'API n'existe pas."})
	})
	return mux
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// requestInfo collects what the log line of a request says.
type requestInfo struct {
	school string
	code   string
	err    error
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return i
}

// wrap applies what every route needs: the origin secret, the cross-site
// and content-type checks of non-GET requests, and one structured log line
// (request id, school, route, outcome, latency; never a password, token or
// hash).
func (a *api) wrap(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		rec := &statusRecorder{ResponseWriter: w}
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = r.Header.Get("Apigw-Requestid")
		}
		if id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		rec.Header().Set("X-Request-Id", id)
		if err := a.guard(r); err != nil && !(ssoExempt(route, r) && a.originSecretOK(r)) {
			writeError(rec, r, err)
		} else {
			h(rec, r)
		}
		outcome := info.code
		if outcome == "" {
			outcome = "ok"
		}
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs, slog.String("requestId", id), slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", rec.status), slog.String("outcome", outcome),
			slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000))
		if info.school != "" {
			attrs = append(attrs, slog.String("school", info.school))
		}
		level := slog.LevelInfo
		if info.err != nil {
			// An internal error is ours; the store out of reach (unavailable)
			// is the operator's to look at, and passes.
			attrs = append(attrs, slog.String("error", info.err.Error()))
			level = slog.LevelError
			if outcome == sesame.CodeUnavailable {
				level = slog.LevelWarn
			}
		}
		a.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// accepted are the content types a non-GET request may carry.
var accepted = map[string]bool{"application/json": true, "application/zip": true, "application/octet-stream": true}

func (a *api) originSecretOK(r *http.Request) bool {
	return a.cfg.OriginSecret == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Origin-Secret")), []byte(a.cfg.OriginSecret)) == 1
}

func (a *api) guard(r *http.Request) error {
	if !a.originSecretOK(r) {
		return &apiError{status: http.StatusForbidden, code: codeDirect, message: "Accès direct refusé : passez par l'adresse du site."}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if !a.site.ownOrigin(r) {
		return &apiError{status: http.StatusForbidden, code: codeCrossSite, message: "Requête refusée : elle ne vient pas du site Sésame lui-même."}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.Method == http.MethodDelete && r.ContentLength <= 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !accepted[mt] {
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeMediaType,
			message: "Type de contenu refusé : envoyez application/json, application/zip ou application/octet-stream."}
	}
	return nil
}

func token(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// decode reads a JSON body strictly: at most 64 KiB, no unknown field.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return badRequest("Le corps de la requête est vide : un objet JSON est attendu.")
		case errors.As(err, &ute):
			return badRequest("Le champ « " + ute.Field + " » n'a pas le bon type.")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return badRequest("Champ inconnu dans la requête : " + strings.TrimPrefix(err.Error(), "json: unknown field ") + ".")
		}
		return badRequest("Le corps de la requête n'est pas un JSON valide.")
	}
	if dec.More() {
		return badRequest("Le corps de la requête contient plus d'un objet JSON.")
	}
	return nil
}

func (a *api) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
}
