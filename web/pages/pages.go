// Package pages writes the generated files of web/static: the HTML pages,
// stamped from one shell (shell.html: head, top bar, navigation) and each
// page's own content (<page>.html here), whose choices of mode and of kind
// of account list sesame.Modes and sesame.Kinds with their labels, and
// libelles.js, the French labels
// and small rules of the domain (package sesame) that the page scripts
// read instead of keeping copies.
//
// The output is committed, so that the pages stay static files, served as
// they are by `sesame serve` and from the web bucket, under the strict
// Content-Security-Policy (no inline script or style). After editing a
// file here or a label in the domain, run
//
//	go generate ./web
//
// (web/cmd/webgen); a test fails while web/static differs from Generate.
package pages

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"

	"github.com/sesame-ecole/sesame"
)

//go:embed shell.html index.html accueil.html connexions.html utilisateurs.html profils.html journal.html recuperation.html ent.html
var sources embed.FS

// Page is one page of the site.
type Page struct {
	File     string // its file in web/static, and its source here
	Title    string // the <title>, before " — Sésame"
	Script   string // its own script, loaded after libelles.js and sesame.js
	Href     string // its address in the navigation ("" for the sign-in page)
	SignedIn bool   // the top bar, the navigation and the browser agent
}

// Site lists the pages, the sign-in page first.
var Site = []Page{
	{File: "index.html", Title: "Connexion", Script: "connexion.js"},
	{File: "accueil.html", Title: "Accueil", Script: "accueil.js", Href: "/accueil", SignedIn: true},
	{File: "connexions.html", Title: "Connexions", Script: "connexions.js", Href: "/connexions", SignedIn: true},
	{File: "utilisateurs.html", Title: "Utilisateurs", Script: "utilisateurs.js", Href: "/utilisateurs", SignedIn: true},
	{File: "profils.html", Title: "Groupes et profils", Script: "profils.js", Href: "/profils", SignedIn: true},
	{File: "journal.html", Title: "Journal", Script: "journal.js", Href: "/journal", SignedIn: true},
	{File: "recuperation.html", Title: "Récupérer les utilisateurs", Script: "recuperation.js", Href: "/recuperation", SignedIn: true},
	{File: "ent.html", Title: "Connexion via l’ENT", Script: "ent.js", Href: "/ent", SignedIn: true},
}

// NavItem is a link of the top bar. A link with an ID shows only when the
// session holds one of the permissions of Perm (Sesame.showLinks).
type NavItem struct {
	ID, Perm, Href, Label string
}

// Nav is the top bar's navigation, in its order.
var Nav = []NavItem{
	{Href: "/accueil", Label: "Accueil"},
	{ID: "nav-utilisateurs", Perm: "spr.utilisateurs ressources.creer-modifier-ressources", Href: "/utilisateurs", Label: "Utilisateurs"},
	{ID: "nav-profils", Perm: "spr.utilisateurs spr.securite ressources.modifier-profils-autorisations-personnels", Href: "/profils", Label: "Groupes et profils"},
	{ID: "nav-journal", Perm: "spr.journal spr.connexions", Href: "/journal", Label: "Journal"},
	{ID: "nav-connexions", Perm: "spr.connexions", Href: "/connexions", Label: "Connexions"},
	{ID: "nav-recuperation", Perm: "spr.recuperer-utilisateurs", Href: "/recuperation", Label: "Récupération"},
	{ID: "nav-ent", Perm: string(sesame.ActionProviders), Href: "/ent", Label: "ENT"},
}

// LabelsFile is the generated script of labels, in web/static.
const LabelsFile = "libelles.js"

// Generate returns every generated file of web/static, by name.
func Generate() (map[string][]byte, error) {
	shell, err := template.ParseFS(sources, "shell.html")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{LabelsFile: Labels()}
	for _, p := range Site {
		t, err := shell.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(sources, p.File); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, "shell", view(p)); err != nil {
			return nil, fmt.Errorf("pages: %s: %w", p.File, err)
		}
		out[p.File] = b.Bytes()
	}
	return out, nil
}

type navView struct {
	NavItem
	Current bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type pageView struct {
	Page
	Nav   []navView
	Modes []option // the sign-in form's choice of mode
	Kinds []option // the kinds of account, as a form offers them
	// Protocols are the identity providers' protocols, with their names
	// (Protocol.Label).
	Protocols []option
	// Limits are the domain's bounds of the fields a form offers, for
	// their maxlength (the server still decides).
	Limits limits
}

// limits are the bounds of provider.go, in characters.
type limits struct {
	ProviderID, ProviderName, ProviderURL, ProviderClaim, ENTID int
}

// defaultMode is the mode the sign-in form offers first: most people who
// sign in are teachers.
const defaultMode = sesame.ModeTeacher

func view(p Page) pageView {
	v := pageView{Page: p, Limits: limits{ProviderID: sesame.MaxProviderID, ProviderName: sesame.MaxProviderName,
		ProviderURL: sesame.MaxProviderURL, ProviderClaim: sesame.MaxProviderClaim, ENTID: sesame.MaxENTID}}
	for _, n := range Nav {
		v.Nav = append(v.Nav, navView{NavItem: n, Current: n.Href == p.Href})
	}
	for _, m := range sesame.Modes {
		v.Modes = append(v.Modes, option{Value: string(m), Label: Capitalize(m.Label()), Selected: m == defaultMode})
	}
	for _, k := range sesame.Kinds {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: Capitalize(k.Label())})
	}
	for _, pr := range sesame.Protocols {
		v.Protocols = append(v.Protocols, option{Value: string(pr), Label: pr.Label(), Selected: pr == sesame.ProtocolCAS})
	}
	return v
}

// Capitalize upper-cases the first letter of s, for a label that starts a
// line or a cell ("mode enseignant" → "Mode enseignant").
func Capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// Typography gives a French message its typography on a page: the
// typographic apostrophe, and a no-break space before : ; ! ? (the API's
// messages are written with plain characters).
func Typography(s string) string {
	s = strings.ReplaceAll(s, "'", "\u2019")
	for _, p := range []string{":", ";", "!", "?"} {
		s = strings.ReplaceAll(s, " "+p, "\u00a0"+p)
	}
	return s
}

// entry is one key and value of an object of libelles.js.
type entry struct{ key, value string }

// Labels returns libelles.js: window.SesameLabels, the domain's labels and
// the small rules the pages need, read from package sesame.
func Labels() []byte {
	var modes, accesses, pools, kinds, profileModes, defaultProfiles, reasons, events, refusals []entry
	for _, m := range sesame.Modes {
		modes = append(modes, entry{string(m), m.Label()})
	}
	for _, a := range sesame.Accesses {
		accesses = append(accesses, entry{string(a), a.Label()})
	}
	for _, p := range sesame.Pools {
		pools = append(pools, entry{string(p), p.Label()})
	}
	for _, k := range sesame.Kinds {
		kinds = append(kinds, entry{string(k), k.Label()})
		if m := k.ProfileMode(); m != "" {
			profileModes = append(profileModes, entry{string(k), string(m)})
		}
		if id := sesame.DefaultProfileFor(k); id != "" {
			defaultProfiles = append(defaultProfiles, entry{string(k), id})
		}
	}
	for _, r := range sesame.EndReasons {
		reasons = append(reasons, entry{string(r), Typography(r.Message())})
	}
	for _, e := range sesame.Events {
		events = append(events, entry{string(e), Typography(e.Label())})
	}
	for _, r := range sesame.SignInRefusals {
		refusals = append(refusals, entry{r.Code, Typography(r.Message)})
	}
	var b bytes.Buffer
	b.WriteString(`/* Sésame — the domain's French labels and small rules, for the page
   scripts. GENERATED from package sesame by ` + "`go generate ./web`" + `
   (web/cmd/webgen): do not edit; a test fails when it drifts.

   modes: Mode.Label; accesses: Access.Label; pools: Pool.Label;
   kinds: Kind.Label;
   profileModes: Kind.ProfileMode, the mode whose profiles an account of
   that kind belongs to (kinds without one are absent);
   defaultProfiles: DefaultProfileFor, the profile a new account gets;
   reasons: EndReason.Message, why a session ended (the API's 401 reasons);
   events: Event.Label, the journal's event types, in their order;
   refusals: SignInRefusals, what the sign-in page says when a sign-in or
   a logout through the school's ENT comes back refused (?raison=<code>).

   Loaded first, with defer, by every page; exposes window.SesameLabels. */
'use strict';

window.SesameLabels = Object.freeze({
`)
	object := func(name string, es []entry) {
		fmt.Fprintf(&b, "  %s: Object.freeze({\n", name)
		for _, e := range es {
			fmt.Fprintf(&b, "    %s: %s,\n", jsString(e.key), jsString(e.value))
		}
		b.WriteString("  }),\n")
	}
	object("modes", modes)
	object("accesses", accesses)
	object("pools", pools)
	object("kinds", kinds)
	object("profileModes", profileModes)
	object("defaultProfiles", defaultProfiles)
	object("reasons", reasons)
	object("events", events)
	object("refusals", refusals)
	b.WriteString("});\n")
	return b.Bytes()
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a Go string always encodes
	}
	return strings.TrimSuffix(b.String(), "\n")
}
