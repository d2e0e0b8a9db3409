package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/sesame-ecole/sesame"
)

// This file is the one home of what the API believes about where a request
// comes from and where it was sent: which host names and origins are the
// site's own, which client address the throttling counts, and whether the
// client used HTTPS. Three cases:
//
//   - The cloud (Config.OriginSecret set): CloudFront is the only way in,
//     proven by the origin secret. It sets X-Forwarded-Host to the
//     viewer's host (ApiRequestFunction in template.yaml) and
//     CloudFront-Viewer-Address to the viewer's address
//     (Config.AddressHeader), and the site is HTTPS only.
//   - The single server (Config.PublicOrigins set): only the declared
//     origins are the site's. Another Host is refused with 421 before any
//     routing (CheckHost), and a non-GET request must come from one of
//     those origins, against DNS rebinding. X-Forwarded-Host,
//     X-Forwarded-Proto and X-Forwarded-For are believed only from a peer
//     inside Config.TrustedProxies.
//   - Neither (a bare handler, as in unit tests): the site is the request's
//     own Host.

// Origin is one public origin of the site: a scheme, a host name and a
// port, as a browser's Origin header names them.
type Origin struct {
	Scheme string // "http" or "https"
	Host   string // lower case; an IPv6 address without brackets
	Port   string // always set: the scheme's default when the URL has none
}

// String is the origin as a browser writes it: scheme://host[:port], the
// port left out when it is the scheme's default.
func (o Origin) String() string {
	host := o.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if o.Port == defaultPort(o.Scheme) {
		return o.Scheme + "://" + host
	}
	return o.Scheme + "://" + host + ":" + o.Port
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// ParseOrigin reads a public URL of the site (`sesame serve --public-url`):
// http:// or https://, a host and an optional port, and nothing else but
// a final "/". Its error is in French.
func ParseOrigin(s string) (Origin, error) {
	bad := func(why string) (Origin, error) {
		return Origin{}, sesame.Invalid("public-url", "L'adresse publique « %s » est incorrecte : %s", s, why)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("écrivez par exemple https://sesame.mon-college.fr ou http://127.0.0.1:8080.")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("elle doit commencer par http:// ou https://.")
	}
	if u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return bad("il y manque le nom d'hôte (par exemple https://sesame.mon-college.fr).")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return bad("donnez seulement le schéma, l'hôte et le port, sans chemin (Sésame est servi à la racine).")
	}
	o, ok := hostOrigin(u.Scheme, u.Host)
	if !ok {
		return bad("le port doit être un nombre de 1 à 65535.")
	}
	return o, nil
}

// hostOrigin is the origin of scheme and a Host header ("name[:port]").
func hostOrigin(scheme, host string) (Origin, bool) {
	name, port, ok := splitHost(host)
	if !ok {
		return Origin{}, false
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	return Origin{Scheme: scheme, Host: name, Port: port}, true
}

// splitHost reads a Host header: its name in lower case (an IPv6 address
// without brackets), and its port, empty when it has none.
func splitHost(host string) (name, port string, ok bool) {
	name = host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		name, port = host[:i], host[i+1:]
		if p, err := netip.ParseAddrPort("0.0.0.0:" + port); err != nil || p.Port() == 0 {
			return "", "", false
		}
	}
	name = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	return name, port, name != ""
}

// ParseProxy reads a trusted proxy (`sesame serve --trusted-proxy`): a
// CIDR block such as 10.0.0.0/8, or one address. Its error is in French.
func ParseProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, sesame.Invalid("trusted-proxy", "Le relais de confiance « %s » est incorrect : donnez un bloc CIDR (par exemple 10.0.0.0/8 ou fd00::/8) ou une adresse IP.", s)
}

// LocalOrigins are the origins of a server listening on addr ("ip:port")
// under scheme: that address, and the localhost names with its port. An
// unspecified address (0.0.0.0, ::) names no host of its own.
func LocalOrigins(scheme, addr string) []Origin {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	var out []Origin
	seen := map[Origin]bool{}
	for _, h := range []string{host, "localhost", "127.0.0.1", "::1"} {
		if ip, err := netip.ParseAddr(h); err == nil && ip.IsUnspecified() {
			continue
		}
		o := Origin{Scheme: scheme, Host: strings.ToLower(h), Port: port}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

// site answers the three questions of this file for one configuration.
type site struct {
	origins []Origin
	proxies []netip.Prefix
	// vouched: every request came through the cloud's front (the origin
	// secret is checked by guard), whose forwarded headers are believed.
	vouched       bool
	addressHeader string
	secure        bool
}

func newSite(cfg Config) site {
	return site{origins: cfg.PublicOrigins, proxies: cfg.TrustedProxies, vouched: cfg.OriginSecret != "",
		addressHeader: cfg.AddressHeader, secure: cfg.Secure}
}

// peer is the address of the connection's other end.
func peer(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap(), err == nil
	}
	return ap.Addr().Unmap(), true
}

func (s site) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded says whether the request's X-Forwarded-* headers are to be
// believed: it came through the cloud's front, or straight from a trusted
// proxy.
func (s site) forwarded(r *http.Request) bool {
	if s.vouched {
		return true
	}
	a, ok := peer(r)
	return ok && s.trusted(a)
}

// host is the host the client asked for: X-Forwarded-Host when believed,
// otherwise Host.
func (s site) host(r *http.Request) string {
	if s.forwarded(r) {
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			// A chain of proxies lists hosts left to right; the first is
			// the client's.
			h, _, _ = strings.Cut(h, ",")
			return strings.TrimSpace(h)
		}
	}
	return r.Host
}

// declared says whether the site has a list of origins.
func (s site) declared() bool { return len(s.origins) > 0 }

// matchHost is the declared origin the request was sent to, if any. A host
// without a port matches an origin on its scheme's default port; when
// both match, https wins.
func (s site) matchHost(r *http.Request) (Origin, bool) {
	name, port, ok := splitHost(s.host(r))
	if !ok {
		return Origin{}, false
	}
	var found Origin
	matched := false
	for _, o := range s.origins {
		if o.Host != name || (port == "" && o.Port != defaultPort(o.Scheme)) || (port != "" && port != o.Port) {
			continue
		}
		if !matched || o.Scheme == "https" {
			found, matched = o, true
		}
	}
	return found, matched
}

// ownOrigin says whether a non-GET request comes from the site itself: its
// Origin is one of the site's (or, without Origin, Sec-Fetch-Site says
// same-origin).
func (s site) ownOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return false
	}
	if !s.declared() {
		return strings.EqualFold(u.Host, s.host(r))
	}
	o, ok := hostOrigin(u.Scheme, u.Host)
	if !ok {
		return false
	}
	for _, mine := range s.origins {
		if o == mine {
			return true
		}
	}
	return false
}

// https says whether the client reached the site over HTTPS: always in the
// cloud; otherwise over TLS here, by a believed X-Forwarded-Proto, or by
// the declared origin the request was sent to (a TLS-terminating proxy in
// front of the server).
func (s site) https(r *http.Request) bool {
	if s.secure || r.TLS != nil {
		return true
	}
	if s.forwarded(r) && r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	o, ok := s.matchHost(r)
	return ok && o.Scheme == "https"
}

// address is the client's address, for throttling and the journal: the
// front's address header in the cloud (Config.AddressHeader); behind trusted proxies, the
// right-most address of X-Forwarded-For that is not a trusted proxy;
// otherwise the connection's peer.
func (s site) address(r *http.Request) string {
	if s.addressHeader != "" {
		if v := r.Header.Get(s.addressHeader); v != "" {
			// CloudFront-Viewer-Address is "ip:port", IPv6 included.
			if i := strings.LastIndex(v, ":"); i > 0 {
				return strings.Trim(v[:i], "[]")
			}
			return v
		}
	}
	p, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(p) {
		return p.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := p
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// Whatever is left of a hop that cannot be read was written
			// by no trusted proxy: the last trusted hop is as far as the
			// chain can be followed.
			break
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[::1]:5678").
func parseHop(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// The single server's answer to a host it does not serve.
const (
	misdirectedMessage = "Ce serveur Sésame ne répond pas à ce nom d'hôte : utilisez l'adresse publique du site."
	misdirectedPage    = "Sésame — adresse inconnue\n\nCe serveur Sésame ne répond pas à ce nom d'hôte. Ouvrez le site à son adresse publique (celle que vous a donnée votre établissement).\n"
)

// CheckHost serves next only the requests sent to one of
// cfg.PublicOrigins' hosts (X-Forwarded-Host from a trusted proxy, Host
// otherwise). Any other is answered 421 before any routing: the JSON error
// misdirected_request under /api/, a short French text elsewhere. A page
// of another site whose name was rebound to this server's address (DNS
// rebinding) thus reaches nothing. Without PublicOrigins, next is returned
// as is.
func CheckHost(cfg Config, next http.Handler) http.Handler {
	s := newSite(cfg)
	if !s.declared() {
		return next
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.matchHost(r); ok {
			next.ServeHTTP(w, r)
			return
		}
		host := s.host(r)
		if len(host) > 100 {
			host = host[:100] + "…"
		}
		log.Warn("misdirected request", "host", host, "address", s.address(r), "method", r.Method, "status", http.StatusMisdirectedRequest)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, r, &apiError{status: http.StatusMisdirectedRequest, code: codeMisdirected, message: misdirectedMessage})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		_, _ = fmt.Fprint(w, misdirectedPage)
	})
}

func (a *api) secure(r *http.Request) bool { return a.site.https(r) }

func (a *api) address(r *http.Request) string { return a.site.address(r) }
