package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-ecole/sesame"
)

// The identity providers of the school (Connexion via l'ENT; functions/admin
// in the cloud), and the list the sign-in page offers (functions/login).
// Client secrets are write-only: a body may set one, no answer holds it.

func providerJSON(v sesame.ProviderView, e Endpoints) map[string]any {
	return map[string]any{"id": v.ID, "protocol": v.Protocol, "protocolLabel": v.Protocol.Label(), "displayName": v.DisplayName,
		"issuer": nullable(v.Issuer), "clientId": nullable(v.ClientID), "hasSecret": v.HasSecret,
		"metadataUrl": nullable(v.MetadataURL), "metadataXml": nullable(v.MetadataXML), "casUrl": nullable(v.CASURL),
		"claim": v.Claim, "kinds": sesame.KindNames(v.Kinds), "matchLogin": v.MatchLogin, "singleLogout": v.SingleLogout,
		"registration": registration(v.Protocol, e),
		"updatedAt":    v.UpdatedAt.UTC().Format(time.RFC3339), "version": v.Version}
}

// registration is what the provider's administrator registers Sésame
// with, for protocol p: this site's addresses, each with its French name,
// in the order an administration console asks for them.
func registration(p sesame.Protocol, e Endpoints) []map[string]string {
	item := func(label, value string) map[string]string { return map[string]string{"label": label, "value": value} }
	switch p {
	case sesame.ProtocolOIDC:
		return []map[string]string{item("URI de redirection", e.Callback), item("URI de retour après déconnexion", e.PostLogout)}
	case sesame.ProtocolSAML:
		return []map[string]string{item("Identifiant du fournisseur de service (entity ID)", e.EntityID),
			item("Service de réception des assertions (ACS, HTTP-POST)", e.ACS),
			item("Service de déconnexion unique (SLO, HTTP-Redirect)", e.SLO)}
	case sesame.ProtocolCAS:
		return []map[string]string{item("Service (adresse de retour, avec son paramètre state)", e.Callback),
			item("Adresse de retour après déconnexion", e.PostLogout)}
	}
	return []map[string]string{}
}

type providerBody struct {
	ID           string   `json:"id"`
	Protocol     string   `json:"protocol"`
	DisplayName  string   `json:"displayName"`
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"` // write-only; empty on an update keeps the stored one
	MetadataURL  string   `json:"metadataUrl"`
	MetadataXML  string   `json:"metadataXml"`
	CASURL       string   `json:"casUrl"`
	Claim        string   `json:"claim"`
	Kinds        []string `json:"kinds"`
	MatchLogin   bool     `json:"matchLogin"`
	SingleLogout bool     `json:"singleLogout"`
	Version      int64    `json:"version"`
}

func (b providerBody) provider() sesame.IdentityProvider {
	return sesame.IdentityProvider{ID: b.ID, Protocol: sesame.Protocol(b.Protocol), DisplayName: b.DisplayName,
		Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: sesame.Secret(b.ClientSecret), MetadataURL: b.MetadataURL,
		MetadataXML: b.MetadataXML, CASURL: b.CASURL, Claim: b.Claim, Kinds: sesame.KindsNamed(b.Kinds),
		MatchLogin: b.MatchLogin, SingleLogout: b.SingleLogout, Version: b.Version}
}

func (a *api) listProviders(w http.ResponseWriter, r *http.Request) {
	vs, err := a.svc.Providers(r.Context(), token(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	items := make([]map[string]any, len(vs))
	for i, v := range vs {
		items[i] = providerJSON(v, a.endpoints(r))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *api) getProvider(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.Provider(r.Context(), token(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, providerJSON(v, a.endpoints(r)))
}

func (a *api) createProvider(w http.ResponseWriter, r *http.Request) {
	var b providerBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	v, err := a.svc.CreateProvider(r.Context(), token(r), b.provider())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, providerJSON(v, a.endpoints(r)))
}

func (a *api) updateProvider(w http.ResponseWriter, r *http.Request) {
	var b providerBody
	if err := decode(r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if b.ID != "" && b.ID != r.PathValue("id") {
		writeError(w, r, badRequest("L'identifiant du corps diffère de celui de l'adresse : un service de connexion ne change pas d'identifiant."))
		return
	}
	b.ID = r.PathValue("id")
	v, err := a.svc.UpdateProvider(r.Context(), token(r), b.provider())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, providerJSON(v, a.endpoints(r)))
}

func (a *api) deleteProvider(w http.ResponseWriter, r *http.Request) {
	version, err := queryVersion(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.svc.DeleteProvider(r.Context(), token(r), r.PathValue("id"), version); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signInProviders answers the providers the sign-in page offers for a
// school: anyone may ask, and an unknown school has none.
func (a *api) signInProviders(w http.ResponseWriter, r *http.Request) {
	cs, err := a.svc.SignInProviders(r.Context(), r.URL.Query().Get("school"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	items := make([]map[string]any, len(cs))
	for i, c := range cs {
		items[i] = map[string]any{"id": c.ID, "displayName": c.DisplayName, "protocol": c.Protocol, "kinds": sesame.KindNames(c.Kinds)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// queryVersion reads the optional version a deletion is conditional on (0
// when absent).
func queryVersion(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, badRequest("Le paramètre « version » doit être un nombre entier positif.")
	}
	return n, nil
}
