package idp

import (
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// frontDoor is the address every client of an instance uses: a reverse
// proxy in front of the portal. The portal runs under plackup's
// HTTP::Server::PSGI, which serves one connection at a time and keeps it as
// long as the client does: a browser holding a keep-alive connection would
// starve the relying party's server-to-server calls (CAS serviceValidate,
// the OIDC token endpoint), which wait behind it. The front door opens one
// connection to the portal per request and closes it after the answer, and
// closes each client connection after its answer too, so that nobody holds
// the portal between requests, and a client of a stopped instance gets a
// refused connection at once rather than a dead keep-alive one. The portal
// is configured with the front door's URL, so the URLs it advertises, its
// redirects and its cookies all name the front door.
//
// The front door also makes the portal's cookies host cookies (see
// hostCookies): LemonLDAP::NG always prefixes its cookie domain with a
// dot, and for an IP address Chromium and Go's cookie jar both drop such a
// cookie. Without its session cookie (and the "pdata" cookie that carries
// a SAML request across the login form) every page shows the login form
// again, and a SAML sign-in fails after it.
type frontDoor struct {
	srv *http.Server
}

// openFrontDoor serves on ln a proxy to the portal listening on upstream
// (host:port), and, as Debian's web server configuration for the portal
// does (portal-nginx.conf: location /javascript/), the JavaScript
// libraries its pages load (jQuery, Bootstrap…) from scripts, the
// folders where Debian's libjs-* packages put them, first found first.
func openFrontDoor(ln net.Listener, upstream string, scripts ...string) *frontDoor {
	target := &url.URL{Scheme: "http", Host: upstream}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the portal sees the address the client used
		},
		Transport:      &http.Transport{DisableKeepAlives: true, ResponseHeaderTimeout: time.Minute},
		ModifyResponse: func(res *http.Response) error { hostCookies(res.Header, res.Request.Host); return nil },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, fmt.Sprintf("idp front door: %v", err), http.StatusBadGateway)
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/", proxy)
	mux.Handle("/javascript/", http.StripPrefix("/javascript", http.FileServer(firstFound(scripts))))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.SetKeepAlivesEnabled(false)
	go func() { _ = srv.Serve(ln) }() // ErrServerClosed after close
	return &frontDoor{srv: srv}
}

// close stops accepting connections and drops the open ones.
func (d *frontDoor) close() { _ = d.srv.Close() }

// firstFound is a file system made of folders: a name is opened in the
// first folder that has it.
type firstFound []string

func (dirs firstFound) Open(name string) (http.File, error) {
	err := error(fs.ErrNotExist)
	for _, d := range dirs {
		f, ferr := http.Dir(d).Open(name)
		if ferr == nil {
			return f, nil
		}
		err = ferr
	}
	return nil, err
}

// hostCookies removes from the Set-Cookie headers of h a Domain attribute
// that names host's IP address (".127.0.0.1"), which makes them host
// cookies, as RFC 6265 §5.2.3 reads a leading dot (it is ignored) and as
// curl keeps them.
func hostCookies(h http.Header, host string) {
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	if net.ParseIP(host) == nil {
		return
	}
	lines := h["Set-Cookie"]
	for i, line := range lines {
		parts := strings.Split(line, ";")
		kept := parts[:1]
		for _, a := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
			if strings.EqualFold(k, "domain") && strings.TrimPrefix(strings.TrimSpace(v), ".") == host {
				continue
			}
			kept = append(kept, a)
		}
		lines[i] = strings.Join(kept, ";")
	}
}
