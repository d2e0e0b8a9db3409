package idp

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// casResponse is the answer of /cas/p3/serviceValidate (CAS protocol 3).
type casResponse struct {
	XMLName xml.Name `xml:"http://www.yale.edu/tp/cas serviceResponse"`
	Success *struct {
		User       string `xml:"http://www.yale.edu/tp/cas user"`
		Attributes struct {
			Values []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:"http://www.yale.edu/tp/cas attributes"`
	} `xml:"http://www.yale.edu/tp/cas authenticationSuccess"`
	Failure *struct {
		Code    string `xml:"code,attr"`
		Message string `xml:",chardata"`
	} `xml:"http://www.yale.edu/tp/cas authenticationFailure"`
}

func (r *casResponse) attribute(name string) string {
	if r.Success == nil {
		return ""
	}
	for _, v := range r.Success.Attributes.Values {
		if v.XMLName.Local == name {
			return strings.TrimSpace(v.Value)
		}
	}
	return ""
}

// casValidate validates a service ticket server to server, as the product
// will: one GET, one XML answer. It returns the user, or the failure's code.
func casValidate(ctx context.Context, client *http.Client, casURL, service, ticket string) (*casResponse, error) {
	u := casURL + "/p3/serviceValidate?" + url.Values{"service": {service}, "ticket": {ticket}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("serviceValidate: status %d", resp.StatusCode)
	}
	var r casResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("serviceValidate: %w:\n%s", err, body)
	}
	if (r.Success == nil) == (r.Failure == nil) {
		return nil, fmt.Errorf("serviceValidate: neither success nor failure:\n%s", body)
	}
	return &r, nil
}

// casTicket signs in through /cas/login for service and returns the ticket.
func casTicket(t *testing.T, ctx context.Context, srv *Server, service string) string {
	t.Helper()
	arr, err := NewBrowser(srv.Config.SPURL, flowTimeout).SignIn(ctx, srv.CASURL()+"/login?"+url.Values{"service": {service}}.Encode(), User, UserPassword)
	if err != nil {
		t.Fatal(err)
	}
	ticket := arr.URL.Query().Get("ticket")
	if arr.Method != http.MethodGet || !strings.HasPrefix(arr.URL.String(), service) || ticket == "" {
		t.Fatalf("arrived by %s at %s, want a redirect to %s with a ticket", arr.Method, arr.URL, service)
	}
	return ticket
}

func TestCASServiceTicket(t *testing.T) {
	srv := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: flowTimeout}
	service := srv.Config.SPURL + "/cas/callback?school=a"
	t0 := time.Now()
	ticket := casTicket(t, ctx, srv, service)
	r, err := casValidate(ctx, client, srv.CASURL(), service, ticket)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CAS flow (login, serviceValidate) in %v", time.Since(t0).Round(time.Millisecond))
	if r.Success == nil || r.Success.User != User || r.attribute("ent_profile") != "National_ENS" || r.attribute("mail") != "paul.martin@ent.test" {
		t.Fatalf("validation = %+v, failure %+v", r.Success, r.Failure)
	}

	// A ticket is single use.
	r, err = casValidate(ctx, client, srv.CASURL(), service, ticket)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failure == nil {
		t.Fatalf("a reused ticket was validated for %q", r.Success.User)
	}
	t.Logf("reused ticket: %s %s", r.Failure.Code, strings.TrimSpace(r.Failure.Message))
}

func TestCASRefusesATicketForAnotherService(t *testing.T) {
	srv := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ticket := casTicket(t, ctx, srv, srv.Config.SPURL+"/cas/callback?school=a")
	r, err := casValidate(ctx, &http.Client{Timeout: flowTimeout}, srv.CASURL(), srv.Config.SPURL+"/cas/callback?school=b", ticket)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failure == nil {
		t.Fatalf("a ticket for another service was validated for %q", r.Success.User)
	}
	t.Logf("another service: %s %s", r.Failure.Code, strings.TrimSpace(r.Failure.Message))
}
