package idp

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser plays the user's browser headless: it follows the provider's
// redirects, fills its login form, re-posts its auto-submit forms, and stops
// at the relying party's door, where it reports how it arrived.
type Browser struct {
	// Client carries the cookie jar; its Timeout bounds every request.
	Client *http.Client
	// StopAt is the relying party's base URL: a redirect or a form aimed
	// below it ends the journey.
	StopAt string
	// BeforeCredentials, if set, runs just before the login form is posted
	// (a test stops the provider there).
	BeforeCredentials func()
}

// Arrival is how the browser reached the relying party.
type Arrival struct {
	Method string     // GET for a redirect, POST for a form
	URL    *url.URL   // the relying party's URL, with its query for a redirect
	Form   url.Values // the posted fields, for POST
}

// Request rebuilds the request the browser makes at the relying party, for
// a handler or a relying party's callback code to read: a GET with the
// redirect's query, or a form POST.
func (a *Arrival) Request(ctx context.Context) (*http.Request, error) {
	if a.Method != http.MethodPost {
		return http.NewRequestWithContext(ctx, http.MethodGet, a.URL.String(), nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL.String(), strings.NewReader(a.Form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// NewBrowser returns a browser with a fresh cookie jar whose requests each
// time out after timeout.
func NewBrowser(stopAt string, timeout time.Duration) *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	b := &Browser{StopAt: strings.TrimRight(stopAt, "/")}
	b.Client = &http.Client{Jar: jar, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.atRelyingParty(req.URL.String()) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("idp: too many redirects")
		}
		return nil
	}}
	return b
}

func (b *Browser) atRelyingParty(u string) bool {
	return u == b.StopAt || strings.HasPrefix(u, b.StopAt+"/") || strings.HasPrefix(u, b.StopAt+"?")
}

// maxSteps bounds the pages of one sign-in (login form, auto-submit forms).
const maxSteps = 8

// SignIn opens start (an authorization, SAML or CAS login URL), signs in as
// user with password, and returns how the browser arrived at the relying
// party. A refused password is an error, as is any page without a way on.
func (b *Browser) SignIn(ctx context.Context, start, user, password string) (*Arrival, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	if err != nil {
		return nil, err
	}
	loginPosted := false
	for range maxSteps {
		resp, err := b.Client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("idp: %s %s: %w", req.Method, req.URL.Redacted(), err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("idp: reading %s: %w", req.URL.Redacted(), err)
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return nil, err
			}
			if b.atRelyingParty(u.String()) {
				return &Arrival{Method: http.MethodGet, URL: u}, nil
			}
			return nil, fmt.Errorf("idp: redirect to %s not followed", u.Redacted())
		}
		forms := parseForms(string(body))
		var next *form
		for i := range forms {
			f := &forms[i]
			switch {
			case f.hasPassword:
				if loginPosted {
					return nil, fmt.Errorf("idp: the login form came back: credentials of %s refused", user)
				}
				f.values.Set("user", user)
				f.values.Set("password", password)
				loginPosted = true
				if b.BeforeCredentials != nil {
					b.BeforeCredentials()
				}
				next = f
			case next == nil && f.action != "":
				next = f
			}
			if f.hasPassword {
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("idp: %s %s answered %d with no way on:\n%s", req.Method, req.URL.Redacted(), resp.StatusCode, snippet(body))
		}
		action, err := resp.Request.URL.Parse(next.action)
		if err != nil {
			return nil, err
		}
		if b.atRelyingParty(action.String()) {
			return &Arrival{Method: http.MethodPost, URL: action, Form: next.values}, nil
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(next.values.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil, fmt.Errorf("idp: no arrival at %s after %d pages", b.StopAt, maxSteps)
}

type form struct {
	action      string
	values      url.Values
	hasPassword bool
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// parseForms finds the forms of a page and the fields a browser would post
// (named inputs; a checkbox only when checked).
func parseForms(page string) []form {
	var forms []form
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		f := form{action: attrs(m[1])["action"], values: url.Values{}}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			typ := strings.ToLower(a["type"])
			if typ == "password" {
				f.hasPassword = true
			}
			if a["name"] == "" || typ == "submit" || typ == "button" || strings.HasPrefix(strings.ToLower(in[0]), "<button") {
				continue
			}
			if (typ == "checkbox" || typ == "radio") && !strings.Contains(strings.ToLower(in[1]), "checked") {
				continue
			}
			f.values.Add(a["name"], a["value"])
		}
		forms = append(forms, f)
	}
	return forms
}

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3])
	}
	return m
}

func snippet(body []byte) string {
	s := string(body)
	if len(s) > 1500 {
		s = s[:1500] + "…"
	}
	return s
}
