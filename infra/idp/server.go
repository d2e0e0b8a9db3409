package idp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// Config is the relying party an instance is prepared for. Only SPURL is
// required; the paths default to the recipe's.
type Config struct {
	// SPURL is the relying party's base URL, e.g. http://127.0.0.1:8080.
	SPURL string
	// OIDCRedirectURI is the OpenID Connect client's only redirect URI
	// (default SPURL+"/callback").
	OIDCRedirectURI string
	// SAMLEntityID is the SAML service provider's entity ID, which is also
	// the audience of its assertions (default SPURL+"/saml/metadata").
	SAMLEntityID string
	// SAMLACS is its assertion consumer service, HTTP-POST binding
	// (default SPURL+"/saml/acs").
	SAMLACS string
	// SAMLSLO is its single logout service, HTTP-Redirect binding
	// (default SPURL+"/saml/slo").
	SAMLSLO string
	// PostLogoutURI is the OpenID Connect clients' only
	// post_logout_redirect_uri (default SPURL+"/logged-out").
	PostLogoutURI string
}

func (c Config) withDefaults() Config {
	c.SPURL = strings.TrimRight(c.SPURL, "/")
	if c.OIDCRedirectURI == "" {
		c.OIDCRedirectURI = c.SPURL + "/callback"
	}
	if c.SAMLEntityID == "" {
		c.SAMLEntityID = c.SPURL + "/saml/metadata"
	}
	if c.SAMLACS == "" {
		c.SAMLACS = c.SPURL + "/saml/acs"
	}
	if c.SAMLSLO == "" {
		c.SAMLSLO = c.SPURL + "/saml/slo"
	}
	if c.PostLogoutURI == "" {
		c.PostLogoutURI = c.SPURL + "/logged-out"
	}
	return c
}

// Server is a running LemonLDAP::NG instance.
type Server struct {
	URL    string // the portal through its front door, http://127.0.0.1:<port>, also the OIDC issuer
	Config Config // the relying party it was prepared for, with defaults filled

	cmd            *exec.Cmd // the portal's process, for tests that freeze it
	proc           *localtool.Process
	door           *frontDoor // at URL, in front of the portal
	state          string
	setup, started time.Duration
}

// Issuer is the OpenID Connect issuer (discovery at
// Issuer+"/.well-known/openid-configuration").
func (s *Server) Issuer() string { return s.URL }

// SAMLMetadataURL is the URL of the SAML IdP metadata.
func (s *Server) SAMLMetadataURL() string { return s.URL + "/saml/metadata" }

// CASURL is the CAS server's base URL (/login, /p3/serviceValidate below it).
func (s *Server) CASURL() string { return s.URL + "/cas" }

// SetupTime is how long laying out the instance took (keys, users, config).
func (s *Server) SetupTime() time.Duration { return s.setup }

// StartupTime is how long the portal took from launch to its first answer.
func (s *Server) StartupTime() time.Duration { return s.started }

// Output returns the last lines the portal printed.
func (s *Server) Output() string { return s.proc.Output.String() }

// Stop closes the front door (its clients' connections are refused from
// then on), kills the portal and removes the instance's folder. It is safe
// to call more than once.
func (s *Server) Stop() {
	s.door.close()
	s.proc.Stop()
	os.RemoveAll(s.state)
}

// Start lays out an instance of the provider installed in cacheDir (see
// [Install]) for the relying party cfg, starts it on a free loopback port and
// waits until its OpenID Connect discovery document answers. ctx bounds the
// start only; the provider runs until [Server.Stop].
func Start(ctx context.Context, cacheDir string, cfg Config) (*Server, error) {
	if !Installed(cacheDir) {
		return nil, fmt.Errorf("idp: LemonLDAP::NG is not unpacked in %s (go run ./infra/idp/cmd/fetch)", cacheDir)
	}
	if cfg.SPURL == "" {
		return nil, fmt.Errorf("idp: Config.SPURL is required")
	}
	if err := writeRecipe(filepath.Join(cacheDir, "src")); err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	cfg = cfg.withDefaults()
	runDir := filepath.Join(cacheDir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	state, err := os.MkdirTemp(runDir, "llng-")
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	s, err := start(ctx, cacheDir, state, cfg)
	if err != nil {
		os.RemoveAll(state)
		return nil, err
	}
	return s, nil
}

func start(ctx context.Context, cacheDir, state string, cfg Config) (*Server, error) {
	// The front door's port (see frontDoor), which the portal's
	// configuration names, and the portal's own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	defer func() {
		if ln != nil {
			ln.Close()
		}
	}()
	addrs, err := localtool.FreeAddrs(1)
	if err != nil {
		return nil, fmt.Errorf("idp: finding a free port: %w", err)
	}
	_, publicPort, _ := net.SplitHostPort(ln.Addr().String())
	_, port, _ := net.SplitHostPort(addrs[0])
	root, src := filepath.Join(cacheDir, "root"), filepath.Join(cacheDir, "src")
	env := append(os.Environ(),
		"IDP_ROOT="+root, "IDP_SRC="+src, "IDP_KEYS="+filepath.Join(cacheDir, "keys"), "IDP_STATE="+state, "IDP_PORT="+publicPort,
		"SP_URL="+cfg.SPURL, "OIDC_REDIRECT_URI="+cfg.OIDCRedirectURI,
		"SAML_SP_ENTITY="+cfg.SAMLEntityID, "SAML_SP_ACS="+cfg.SAMLACS,
		"SAML_SP_SLO="+cfg.SAMLSLO, "POST_LOGOUT_URI="+cfg.PostLogoutURI,
		"PERL5LIB="+strings.Join([]string{filepath.Join(src, "lib"), filepath.Join(root, "usr/share/perl5"),
			filepath.Join(root, "usr/lib/x86_64-linux-gnu/perl5/5.36")}, ":"),
		// liblasso sits in usr/lib, not in the multiarch folder
		"LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib")+":"+filepath.Join(root, "usr/lib/x86_64-linux-gnu"),
		"LLNG_DEFAULTCONFFILE="+filepath.Join(state, "lemonldap-ng.ini"),
	)
	t0 := time.Now()
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	setup := exec.CommandContext(sctx, "bash", filepath.Join(src, "setup.sh"))
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("idp: setup.sh: %w\n%s", err, tail(out))
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Config: cfg, state: state, setup: time.Since(t0)}

	t0 = time.Now()
	cmd := exec.Command("perl", filepath.Join(root, "usr/bin/plackup"),
		"-s", "HTTP::Server::PSGI", "--host", "127.0.0.1", "--port", port,
		"-E", "deployment", filepath.Join(src, "portal.psgi"))
	cmd.Dir, cmd.Env = state, env
	s.cmd = cmd
	s.proc, err = localtool.StartProcess(ctx, cmd, addrs[0], 32<<10, readyTimeout)
	if err != nil {
		return nil, fmt.Errorf("idp: LemonLDAP::NG: %w", err)
	}
	// The libraries the portal's pages load: those unpacked with it, and
	// those the system had already (apt-get does not download an installed
	// package: libjs-jquery on a Debian with Python's documentation tools).
	s.door, ln = openFrontDoor(ln, addrs[0], filepath.Join(root, "usr/share/javascript"), "/usr/share/javascript"), nil
	if err := s.waitReady(ctx, time.Now().Add(readyTimeout)); err != nil {
		s.door.close()
		s.proc.Stop()
		return nil, err
	}
	s.started = time.Since(t0)
	return s, nil
}

// waitReady polls the discovery document: the port may be bound before the
// portal has loaded its configuration.
func (s *Server) waitReady(ctx context.Context, deadline time.Time) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/.well-known/openid-configuration", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if exited, werr := s.proc.Exited(); exited {
			return fmt.Errorf("idp: LemonLDAP::NG exited at start (%v):\n%s", werr, s.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("idp: LemonLDAP::NG did not answer on %s within %v (last: %v):\n%s", s.URL, readyTimeout, err, s.Output())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
