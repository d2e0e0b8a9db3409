package sso

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CASTicketGuardTime is how long a CAS ticket stays recorded in the
// ReplayGuard: far longer than any server keeps a ticket valid (CAS
// recommends 10 s to 5 min).
const CASTicketGuardTime = time.Hour

func (c *Client) beginCAS(cfg Config) (string, Flow, error) {
	f := Flow{State: rand.Text()}
	u, _ := url.Parse(cfg.CallbackURL) // checked by Validate
	q := u.Query()
	q.Set("state", f.State)
	u.RawQuery = q.Encode()
	f.Service = u.String()
	login := strings.TrimRight(cfg.CASBaseURL, "/") + "/login?" + url.Values{"service": {f.Service}}.Encode()
	return login, f, nil
}

// casAnswer is the XML answer of /p3/serviceValidate.
type casAnswer struct {
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

// finishCAS takes the ticket of the callback, records it in the
// ReplayGuard (so it is used once even if the server accepted it twice),
// then validates it server to server for exactly the service sent to
// /login.
func (c *Client) finishCAS(ctx context.Context, cfg Config, f Flow, r *http.Request) (Identity, error) {
	q := r.URL.Query()
	if !same(q.Get("state"), f.State) {
		return Identity{}, failf(Refused, CAS, "finish", "state does not match the flow")
	}
	if f.Service == "" {
		return Identity{}, failf(Refused, CAS, "finish", "the flow has no service")
	}
	ticket := q.Get("ticket")
	if ticket == "" {
		return Identity{}, failf(Cancelled, CAS, "finish", "the callback has no ticket")
	}
	if len(ticket) > 256 {
		return Identity{}, failf(Refused, CAS, "finish", "a ticket of %d bytes", len(ticket))
	}
	firstTime, err := c.Replay.Seen(ctx, "cas:"+ticket, c.now().Add(CASTicketGuardTime))
	if err != nil {
		return Identity{}, fmt.Errorf("sso: cas finish: replay guard: %w", err)
	}
	if !firstTime {
		return Identity{}, failf(Replayed, CAS, "finish", "ticket already used")
	}
	ans, err := c.serviceValidate(ctx, cfg, f.Service, ticket)
	if err != nil {
		return Identity{}, err
	}
	if ans.Failure != nil {
		return Identity{}, failf(Refused, CAS, "finish", "the server refused the ticket: %s %.200s", ans.Failure.Code, strings.TrimSpace(ans.Failure.Message))
	}
	id := Identity{AssertionID: ticket, Attributes: map[string][]string{}}
	for _, v := range ans.Success.Attributes.Values {
		id.Attributes[v.XMLName.Local] = append(id.Attributes[v.XMLName.Local], strings.TrimSpace(v.Value))
	}
	id.Subject = strings.TrimSpace(ans.Success.User)
	if a := cfg.identityAttribute(); a != "" {
		id.Subject = first(id.Attributes, a)
	}
	return id, nil
}

func (c *Client) serviceValidate(ctx context.Context, cfg Config, service, ticket string) (*casAnswer, error) {
	endpoint := strings.TrimRight(cfg.CASBaseURL, "/") + "/p3/serviceValidate"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+url.Values{"service": {service}, "ticket": {ticket}}.Encode(), nil)
	if err != nil {
		return nil, fail(Misconfigured, CAS, "finish", err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			ue.URL = endpoint // keep the ticket out of the logs
		}
		return nil, reachErr(ctx, CAS, "finish", "serviceValidate", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProviderBytes))
	if err != nil {
		return nil, reachErr(ctx, CAS, "finish", "serviceValidate", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, failf(Unavailable, CAS, "finish", "serviceValidate: status %d", resp.StatusCode)
	}
	var ans casAnswer
	if err := xml.Unmarshal(body, &ans); err != nil || (ans.Success == nil) == (ans.Failure == nil) {
		return nil, failf(Unavailable, CAS, "finish", "serviceValidate: not a CAS answer (%v): %.200s", err, body)
	}
	return &ans, nil
}
