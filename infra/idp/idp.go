// Package idp installs and runs a real identity provider for the tests of
// single sign-on: LemonLDAP::NG 2.16.1 (the web SSO of the French public
// administration), which speaks OpenID Connect, SAML 2.0 and CAS in one
// Perl/PSGI process.
//
// [Install] downloads its Debian packages with apt-get (download only, no
// root service, nothing installed system-wide) and unpacks them into the
// project's cache, .cache/idp. [Start] lays out one instance for a relying
// party (its keys, users, configuration and sessions in a folder of its own),
// starts it on a free loopback port and waits until it answers; [Server.Stop]
// kills it and removes that folder. Tests use [New] or [Shared] (see
// testing.go), which skip loudly on a developer machine without the provider
// and fail under CI=true.
//
// The provider's configuration is the equivalent of a Keycloak realm:
//   - users (SQLite): [User] prof.martin and [OtherUser] eleve.durand, with
//     the attributes uid, cn, mail, ent_profile and uai;
//   - the confidential OpenID Connect clients [ClientID] and [OtherClientID],
//     redirect URI [Config.OIDCRedirectURI], post-logout redirect URI
//     [Config.PostLogoutURI], scope "ent" for the claims ent_profile and uai;
//   - the SAML 2.0 service provider [Config.SAMLEntityID] with its assertion
//     consumer service [Config.SAMLACS] (HTTP-POST), single logout service
//     [Config.SAMLSLO] (HTTP-Redirect), signed assertions;
//   - a CAS server (protocol 3) accepting any service.
//
// The scripts it runs live in llng/ (embedded in the package).
package idp

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// Version is the LemonLDAP::NG version that [Install] unpacks (Debian 12).
const Version = "2.16.1"

// The test users and the OpenID Connect client of every instance.
const (
	User          = "prof.martin"
	UserPassword  = "Secret123!"
	OtherUser     = "eleve.durand"
	OtherPassword = "Eleve123!"
	ClientID      = "sesame"
	ClientSecret  = "sesame-secret"
	// OtherClientID is a second confidential client of every instance, with
	// the same redirect URI: another relying party of the same provider.
	OtherClientID     = "sesame-other"
	OtherClientSecret = "sesame-other-secret"
	installedMarker   = "root/usr/share/perl5/Lemonldap"
	installTimeout    = 5 * time.Minute
	// A setup takes about a second, a start under one; on a machine
	// shared by several test runs (load average 20 and more) setups of 27 s
	// and starts of 14 s were measured.
	setupTimeout = 90 * time.Second
	readyTimeout = time.Minute
	// startTimeout bounds New and Shared's Start (setup and start).
	startTimeout = setupTimeout + readyTimeout
	cacheName    = "idp"
)

//go:embed llng
var recipe embed.FS

// DefaultCacheDir returns the folder [Install] uses by default:
// $SESAME_CACHE_DIR/idp or <repository root>/.cache/idp.
func DefaultCacheDir() (string, error) { return localtool.CacheDir(cacheName) }

// Installed reports whether the provider's packages are unpacked in cacheDir.
func Installed(cacheDir string) bool {
	_, err := os.Stat(filepath.Join(cacheDir, installedMarker))
	return err == nil
}

// Install makes sure LemonLDAP::NG and its Perl dependencies are unpacked
// under cacheDir/root, and writes the package's scripts to cacheDir/src.
// Downloading needs apt-get and up-to-date package lists (apt-get update);
// an installed cache needs neither.
func Install(ctx context.Context, cacheDir string) error {
	if err := writeRecipe(filepath.Join(cacheDir, "src")); err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	if Installed(cacheDir) {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("idp: apt-get is needed to download LemonLDAP::NG's Debian packages: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(cacheDir, "src", "fetch.sh"))
	cmd.Env = append(os.Environ(), "IDP_HOME="+cacheDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("idp: fetch.sh: %w\n%s", err, tail(out))
	}
	if !Installed(cacheDir) {
		return fmt.Errorf("idp: fetch.sh ran but %s is missing", filepath.Join(cacheDir, installedMarker))
	}
	return nil
}

// writeRecipe copies the embedded llng folder into dir unless dir already
// holds it, through a temporary folder and a rename so that a concurrent test
// process never reads half a file.
func writeRecipe(dir string) error {
	if sameRecipe(dir) {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sub, err := fs.Sub(recipe, "llng")
	if err != nil {
		return err
	}
	if err := os.CopyFS(tmp, sub); err != nil {
		return err
	}
	old := dir + ".old-" + filepath.Base(tmp)
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defer os.RemoveAll(old)
	if err := os.Rename(tmp, dir); err != nil && !sameRecipe(dir) {
		return err
	}
	return nil
}

// sameRecipe reports whether dir holds every embedded file, byte for byte.
func sameRecipe(dir string) bool {
	same := true
	err := fs.WalkDir(recipe, "llng", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !same {
			return err
		}
		want, err := recipe.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(path, "llng/")))
		same = err == nil && string(got) == string(want)
		return nil
	})
	return err == nil && same
}

func tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}
