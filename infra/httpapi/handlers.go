package httpapi

import (
	_ "embed"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
)

type loginBody struct {
	School   string `json:"school"`
	Login    string `json:"login"`
	Password string `json:"password"`
	Mode     string `json:"mode"`
	Access   string `json:"access"`
	Year     string `json:"year"`
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var b loginBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	infoOf(r).school = b.School
	req := sesame.LoginRequest{School: b.School, Login: b.Login, Password: b.Password, Mode: b.Mode,
		Access: b.Access, Year: b.Year, Address: a.address(r)}
	if c, err := r.Cookie(DeviceCookie); err == nil {
		req.Device = c.Value
	}
	res, err := a.svc.Login(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.setSignInCookies(w, r, res)
	writeJSON(w, http.StatusOK, sessionJSON(res.View))
}

// setSignInCookies sets what a sign-in gives the browser, by password or
// through a provider: the session, and the device cookie that the next
// sign-in of this account sends (its Path covers POST /login and the
// provider's callbacks under /login/sso).
func (a *api) setSignInCookies(w http.ResponseWriter, r *http.Request, res sesame.LoginResult) {
	a.setSessionCookie(w, r, res.Token, 0)
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: res.Device, Path: Prefix + "/login",
		MaxAge: 400 * 24 * 3600, HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
}

func (a *api) session(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.Session(r.Context(), token(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	infoOf(r).school = string(v.School.UAI)
	writeJSON(w, http.StatusOK, sessionJSON(v))
}

type heartbeatBody struct {
	IdleSeconds *float64 `json:"idleSeconds"`
}

func (a *api) heartbeat(w http.ResponseWriter, r *http.Request) {
	var b heartbeatBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if b.IdleSeconds == nil || math.IsNaN(*b.IdleSeconds) || *b.IdleSeconds > 1e7 {
		writeError(w, r, badRequest("Le champ « idleSeconds » est obligatoire : un nombre de secondes."))
		return
	}
	idle := time.Duration(*b.IdleSeconds * float64(time.Second))
	res, err := a.svc.Heartbeat(r.Context(), token(r), idle)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, heartbeatJSON{
		LeaseSeconds:         seconds(res.Timing.Lease),
		HeartbeatSeconds:     seconds(res.Timing.Heartbeat),
		IdleRemainingSeconds: seconds(res.IdleRemaining),
		Idle:                 idleJSON(res.Idle),
	})
}

// heartbeatJSON is the answer to a heartbeat. Its fields, like those of
// idleStateJSON, are in the order of their names, as they were when a map
// held them.
type heartbeatJSON struct {
	HeartbeatSeconds     int           `json:"heartbeatSeconds"`
	Idle                 idleStateJSON `json:"idle"`
	IdleRemainingSeconds int           `json:"idleRemainingSeconds"`
	LeaseSeconds         int           `json:"leaseSeconds"`
}

func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Logout(r.Context(), token(r)); err != nil {
		writeError(w, r, err)
		return
	}
	a.setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) authorize(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Query().Get("action")
	d, err := a.svc.Authorize(r.Context(), token(r), action)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": d.Action, "allowed": d.Allowed, "reason": d.Reason, "message": d.Message()})
}

type allowedIn struct {
	Mode   sesame.Mode   `json:"mode"`
	Access sesame.Access `json:"access"`
}

type permissionJSON struct {
	Slug      string      `json:"slug"`
	Label     string      `json:"label"`
	Category  string      `json:"category"`
	No        int         `json:"no,omitempty"`
	SPROnly   bool        `json:"sprOnly,omitempty"`
	AllowedIn []allowedIn `json:"allowedIn"`
}

// permissionsJSON is the catalogue as GET /permissions gives it; it never
// changes while the process runs. It is built at the first call, not at
// start: only the authorize function serves it, and every function's cold
// start would pay its hundreds of allocations.
var permissionsJSON = sync.OnceValue(func() []permissionJSON {
	var out []permissionJSON
	for _, act := range sesame.Actions() {
		p := permissionJSON{Slug: act.Slug, Label: act.Label, Category: act.Category, No: act.No, SPROnly: act.SPROnly(), AllowedIn: []allowedIn{}}
		for _, m := range []sesame.Mode{sesame.ModeVieScolaire, sesame.ModeTeacher, sesame.ModeAdmin} {
			for _, x := range []sesame.Access{sesame.Modify, sesame.Consult} {
				if act.AllowedIn(m, x) {
					p.AllowedIn = append(p.AllowedIn, allowedIn{m, x})
				}
			}
		}
		out = append(out, p)
	}
	return out
})

func (a *api) permissions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, permissionsJSON())
}

func (a *api) connections(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.Connections(r.Context(), token(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	pools := make([]map[string]any, 0, len(c.Pools))
	for _, p := range c.Pools {
		pools = append(pools, map[string]any{"pool": p.Pool, "label": p.Pool.Label(), "limit": limitJSON(p.Limit), "used": p.Used})
	}
	conns := make([]map[string]any, 0, len(c.Sessions))
	for _, s := range c.Sessions {
		conns = append(conns, map[string]any{"id": s.ID, "login": s.Login, "displayName": s.DisplayName,
			"mode": s.Mode, "access": s.Access, "pool": nullable(string(s.Pool)), "supervisor": s.Supervisor,
			"since": s.CreatedAt.UTC().Format(time.RFC3339), "lastActivity": s.LastActivity.UTC().Format(time.RFC3339),
			"current": s.ID == c.Self, "modeLabel": s.Mode.Label()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"pools": pools, "connections": conns})
}

func (a *api) disconnect(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Disconnect(r.Context(), token(r), r.PathValue("id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

//go:embed openapi.json
var openapiDoc []byte

func (a *api) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openapiDoc)
}

func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

func limitJSON(l sesame.Limit) any {
	if l == sesame.Unlimited {
		return nil
	}
	return int(l)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// idleStateJSON is the idle setting as the agent reads it.
type idleStateJSON struct {
	Enabled        bool `json:"enabled"`
	TimeoutSeconds int  `json:"timeoutSeconds"`
	WarningSeconds int  `json:"warningSeconds"`
}

func idleJSON(i sesame.IdleState) idleStateJSON {
	return idleStateJSON{Enabled: i.Enabled, TimeoutSeconds: seconds(i.Timeout), WarningSeconds: seconds(i.Warning)}
}

// sessionJSON is the session object of the public contract.
func sessionJSON(v sesame.View) map[string]any {
	var seat any
	if v.Seat != nil {
		seat = map[string]any{"pool": v.Seat.Pool, "label": v.Seat.Pool.Label(), "limit": limitJSON(v.Seat.Limit)}
	}
	perms := v.Permissions
	if perms == nil {
		perms = []string{}
	}
	return map[string]any{
		"user": map[string]any{"login": v.User.Login, "displayName": v.User.DisplayName, "kind": v.User.Kind,
			"kindLabel": v.User.Kind.Label(), "supervisor": v.User.Supervisor},
		"modeLabel":        v.Session.Mode.Label(),
		"school":           map[string]any{"uai": v.School.UAI, "name": v.School.Name, "year": v.School.CurrentYear},
		"mode":             v.Session.Mode,
		"access":           v.Session.Access,
		"seat":             seat,
		"idle":             idleJSON(v.Idle),
		"heartbeatSeconds": seconds(v.Timing.Heartbeat),
		"leaseSeconds":     seconds(v.Timing.Lease),
		"reportSeconds":    seconds(v.Report),
		"permissions":      perms,
		"since":            v.Session.CreatedAt.UTC().Format(time.RFC3339),
		"expiresAt":        v.Session.ExpiresAt.UTC().Format(time.RFC3339),
	}
}
