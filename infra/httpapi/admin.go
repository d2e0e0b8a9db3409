package httpapi

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-ecole/sesame"
)

// The administration routes (functions/admin in the cloud): users, admin
// groups, teacher and staff profiles, space settings, the journal and seat
// usage. Each handler reads its input, calls the one service use case,
// and writes the answer; every permission is decided in the service.

func userJSON(u sesame.User) map[string]any {
	return map[string]any{"login": u.Login, "displayName": u.DisplayName, "kind": u.Kind, "kindLabel": u.Kind.Label(),
		"supervisor": u.Supervisor, "enabled": u.Enabled, "adminGroup": nullable(u.AdminGroup), "profile": nullable(u.Profile),
		"entId": nullable(u.ENTID), "createdAt": u.CreatedAt.UTC().Format(time.RFC3339), "updatedAt": u.UpdatedAt.UTC().Format(time.RFC3339), "version": u.Version}
}

// queryInt reads an optional whole-number query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest("Le paramètre « " + name + " » doit être un nombre entier positif.")
	}
	return n, nil
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.svc.Users(r.Context(), token(r), sesame.UserQuery{Search: q.Get("q"), Kind: sesame.Kind(q.Get("kind")),
		Member: q.Get("member"), After: q.Get("after"), Limit: limit})
	if err != nil {
		writeError(w, r, err)
		return
	}
	users := make([]map[string]any, len(page.Users))
	for i, u := range page.Users {
		users[i] = userJSON(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "next": nullable(page.Next)})
}

type newUserBody struct {
	Login       string `json:"login"`
	DisplayName string `json:"displayName"`
	Kind        string `json:"kind"`
	AdminGroup  string `json:"adminGroup"`
	Profile     string `json:"profile"`
	Password    string `json:"password"`
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request) {
	var b newUserBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	u, pw, err := a.svc.CreateUser(r.Context(), token(r), sesame.NewUser{Login: b.Login, DisplayName: b.DisplayName,
		Kind: b.Kind, AdminGroup: b.AdminGroup, Profile: b.Profile, Password: b.Password})
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := map[string]any{"user": userJSON(u)}
	if b.Password == "" {
		out["password"] = pw
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.svc.GetUser(r.Context(), token(r), r.PathValue("login"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u))
}

type userEditBody struct {
	DisplayName *string `json:"displayName"`
	AdminGroup  *string `json:"adminGroup"`
	Profile     *string `json:"profile"`
	Enabled     *bool   `json:"enabled"`
	ENTID       *string `json:"entId"`
	Version     int64   `json:"version"`
}

func (a *api) updateUser(w http.ResponseWriter, r *http.Request) {
	var b userEditBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	u, err := a.svc.UpdateUser(r.Context(), token(r), r.PathValue("login"), sesame.UserEdit{DisplayName: b.DisplayName,
		AdminGroup: b.AdminGroup, Profile: b.Profile, Enabled: b.Enabled, ENTID: b.ENTID, Version: b.Version})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u))
}

type passwordBody struct {
	Password string `json:"password"`
}

func (a *api) resetPassword(w http.ResponseWriter, r *http.Request) {
	var b passwordBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	pw, version, err := a.svc.ResetPassword(r.Context(), token(r), r.PathValue("login"), b.Password)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := map[string]any{"generated": b.Password == "", "version": version}
	if b.Password == "" {
		out["password"] = pw
	}
	writeJSON(w, http.StatusOK, out)
}

// autoDisconnectBody is the automatic-disconnection setting: a checkbox,
// then a duration.
type autoDisconnectBody struct {
	Enabled bool  `json:"enabled"`
	Seconds int64 `json:"seconds"`
}

func (b *autoDisconnectBody) setting() *sesame.AutoDisconnect {
	if b == nil {
		return nil
	}
	return &sesame.AutoDisconnect{Enabled: b.Enabled, After: time.Duration(b.Seconds) * time.Second}
}

func profileJSON(v sesame.ProfileView) map[string]any {
	p := v.Profile
	grants := p.Grants
	if grants == nil {
		grants = []string{}
	}
	return map[string]any{"id": p.ID, "name": p.Name, "mode": p.Mode, "modeLabel": p.Mode.Label(), "class": p.Class(),
		"kind": p.Kind(), "type": nullable(string(p.Group)), "grants": grants, "ceiling": v.Ceiling.Slugs(),
		"autoDisconnect": map[string]any{"enabled": p.AutoDisconnect.Enabled, "seconds": seconds(p.AutoDisconnect.After)},
		"protected":      nullable(v.Protected),
		"can": map[string]bool{"rename": v.CanRename, "type": v.CanChangeGroupType, "grants": v.CanEditGrants,
			"autoDisconnect": v.CanEditDisconnect, "delete": v.CanDelete},
		"updatedAt": p.UpdatedAt.UTC().Format(time.RFC3339), "version": p.Version}
}

// classes are the profile classes each collection route serves.
var classes = map[string][]string{"/groups": {"group"}, "/profiles": {"teacher", "staff"}, "/spaces": {"space"}}

// collection returns the collection route of r ("/groups"…).
func collection(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, Prefix)
	if i := strings.Index(p[1:], "/"); i >= 0 {
		p = p[:i+1]
	}
	return p
}

// classesOf returns the profile classes r's collection serves.
func classesOf(r *http.Request) []string { return classes[collection(r)] }

func (a *api) listProfiles(w http.ResponseWriter, r *http.Request) {
	vs, err := a.svc.Profiles(r.Context(), token(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, v := range vs {
		if slices.Contains(classesOf(r), v.Class()) {
			out = append(out, profileJSON(v))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out,
		"autoDisconnectSeconds": map[string]int{"min": seconds(a.svc.MinIdleSetting()), "max": seconds(sesame.MaxAutoDisconnect)}})
}

func (a *api) getProfile(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.GetProfile(r.Context(), token(r), r.PathValue("id"), classesOf(r)...)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileJSON(v))
}

type newProfileBody struct {
	Name           string              `json:"name"`
	Mode           string              `json:"mode"`
	Type           string              `json:"type"`
	Grants         []string            `json:"grants"`
	AutoDisconnect *autoDisconnectBody `json:"autoDisconnect"`
}

func (a *api) createProfile(w http.ResponseWriter, r *http.Request) {
	var b newProfileBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	mode := sesame.Mode(b.Mode)
	if collection(r) == "/groups" {
		if b.Mode != "" && mode != sesame.ModeAdmin {
			writeError(w, r, sesame.Invalid("mode", "Un groupe d'utilisateurs administratifs est du mode admin."))
			return
		}
		mode = sesame.ModeAdmin
	} else if mode != sesame.ModeTeacher && mode != sesame.ModeVieScolaire {
		writeError(w, r, sesame.Invalid("mode", "Choisissez le mode du profil : teacher (professeurs) ou vie-scolaire (personnels)."))
		return
	} else if b.Type != "" {
		writeError(w, r, sesame.Invalid("type", "Seuls les groupes d'utilisateurs administratifs ont un type."))
		return
	}
	v, err := a.svc.CreateProfile(r.Context(), token(r), sesame.NewProfile{Name: b.Name, Mode: mode,
		Group: sesame.GroupType(b.Type), Grants: b.Grants, AutoDisconnect: b.AutoDisconnect.setting()})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, profileJSON(v))
}

type profileEditBody struct {
	Name           *string             `json:"name"`
	Type           *string             `json:"type"`
	Grants         *[]string           `json:"grants"`
	AutoDisconnect *autoDisconnectBody `json:"autoDisconnect"`
	Version        int64               `json:"version"`
}

func (a *api) updateProfile(w http.ResponseWriter, r *http.Request) {
	var b profileEditBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	e := sesame.ProfileEdit{Name: b.Name, Grants: b.Grants, AutoDisconnect: b.AutoDisconnect.setting(), Version: b.Version,
		Classes: classesOf(r)}
	if b.Type != nil {
		t := sesame.GroupType(*b.Type)
		e.Group = &t
	}
	v, err := a.svc.UpdateProfile(r.Context(), token(r), r.PathValue("id"), e)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileJSON(v))
}

func (a *api) deleteProfile(w http.ResponseWriter, r *http.Request) {
	version, err := queryVersion(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.svc.DeleteProfile(r.Context(), token(r), r.PathValue("id"), version, classesOf(r)...); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// journalQuery reads the journal's filters (see
// sesame.ParseJournalFilter; event may also be repeated), its cursor
// (before) and page size (limit).
func journalQuery(r *http.Request) (sesame.JournalQuery, error) {
	v := r.URL.Query()
	q, err := sesame.ParseJournalFilter(v.Get("from"), v.Get("to"), strings.Join(v["event"], ","), v.Get("login"))
	if err != nil {
		return q, err
	}
	q.Before = v.Get("before")
	q.Limit, err = queryInt(r, "limit")
	return q, err
}

// eventsJSON lists the journal's event types and their French names, for
// the filter; built at the journal's first call, not at every function's
// start.
var eventsJSON = sync.OnceValue(func() []map[string]string {
	out := make([]map[string]string, len(sesame.Events))
	for i, e := range sesame.Events {
		out[i] = map[string]string{"event": string(e), "label": e.Label()}
	}
	return out
})

func (a *api) journal(w http.ResponseWriter, r *http.Request) {
	q, err := journalQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.svc.Journal(r.Context(), token(r), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	entries := make([]map[string]any, len(page.Entries))
	for i, e := range page.Entries {
		m := map[string]any{"id": e.ID, "at": e.At.UTC().Format(time.RFC3339Nano), "event": e.Event, "eventLabel": e.Event.Label(),
			"actor": nullable(e.Actor), "subject": nullable(e.Subject), "mode": nullable(string(e.Mode)), "pool": nullable(string(e.Pool)),
			"reason": nullable(e.Reason), "detail": e.Detail, "address": nullable(e.Address)}
		if e.Mode != "" {
			m["modeLabel"] = e.Mode.Label()
		}
		entries[i] = m
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": nullable(page.Next), "events": eventsJSON(),
		"retentionDays": int(a.svc.JournalRetention() / (24 * time.Hour))})
}

func (a *api) journalCSV(w http.ResponseWriter, r *http.Request) {
	q, err := journalQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := a.svc.ExportJournal(r.Context(), token(r), q, &buf); err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="journal-`+a.svc.Clock.Now().UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (a *api) usage(w http.ResponseWriter, r *http.Request) {
	u, err := a.svc.Usage(r.Context(), token(r), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	pools := make([]map[string]any, 0, len(sesame.Pools))
	for _, p := range sesame.Pools {
		pools = append(pools, map[string]any{"pool": p, "label": p.Label(), "limit": limitJSON(u.Limits[p])})
	}
	days := make([]map[string]any, len(u.Days))
	for i, d := range u.Days {
		days[i] = map[string]any{"day": d.Day, "pool": d.Pool, "peak": d.Peak, "refused": d.Refused, "signIns": d.SignIns}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": u.From, "to": u.To, "pools": pools, "days": days})
}
