package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// hostRequest sends a demo sign-in of login to the server at base, with the
// Host header host and the Origin origin.
func hostRequest(t *testing.T, base, host, origin, login string) (*http.Response, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"school": demoUAI, "login": login, "password": demoPassword, "mode": "teacher"})
	req, err := http.NewRequest(http.MethodPost, base+httpapi.Prefix+"/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

// By default the server answers its listen address and the localhost
// names, and refuses any other host with 421.
func TestServeDefaultHosts(t *testing.T) {
	s := serve(t, "--demo", "--store", tempStore(t))
	addr := strings.TrimPrefix(s.url, "http://")
	port := addr[strings.LastIndex(addr, ":")+1:]
	want := "Adresses acceptées : http://127.0.0.1:" + port + ", http://localhost:" + port + ", http://[::1]:" + port + " (les autres noms d'hôte reçoivent 421"
	if !strings.Contains(s.stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, s.stdout)
	}
	res, raw := hostRequest(t, s.url, "evil.example:"+port, "http://evil.example:"+port, "prof.martin")
	if res.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(raw, `"code":"misdirected_request"`) {
		t.Fatalf("foreign host: %d %s", res.StatusCode, raw)
	}
	if res, raw := hostRequest(t, s.url, "localhost:"+port, "http://localhost:"+port, "prof.martin"); res.StatusCode != http.StatusOK {
		t.Fatalf("localhost: %d %s", res.StatusCode, raw)
	}
}

// --public-url replaces the defaults; an https one makes the cookies
// Secure behind a TLS-terminating proxy; --trusted-proxy is listed.
func TestServePublicURL(t *testing.T) {
	s := serve(t, "--demo", "--store", tempStore(t), "--public-url", "https://sesame.example", "--public-url", "http://sesame.lan:8080/",
		"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "fd00::/8")
	for _, want := range []string{
		"Adresses acceptées : https://sesame.example, http://sesame.lan:8080 (",
		"Relais de confiance (X-Forwarded-For, -Host, -Proto) : 10.0.0.0/8, fd00::/8",
	} {
		if !strings.Contains(s.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, s.stdout)
		}
	}
	res, raw := hostRequest(t, s.url, "sesame.example", "https://sesame.example", "prof.martin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("public URL: %d %s", res.StatusCode, raw)
	}
	if c := res.Cookies(); len(c) == 0 || !c[0].Secure {
		t.Errorf("cookies for an https public URL: %v", res.Header.Values("Set-Cookie"))
	}
	res, _ = hostRequest(t, s.url, "sesame.lan:8080", "http://sesame.lan:8080", "prof.dubois")
	if c := res.Cookies(); res.StatusCode != http.StatusOK || len(c) == 0 || c[0].Secure {
		t.Errorf("http public URL: %d %v", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
	addr := strings.TrimPrefix(s.url, "http://")
	if res, _ := hostRequest(t, s.url, addr, s.url, "prof.bernard"); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("the listen address, not given: %d", res.StatusCode)
	}
}

// On every interface without --public-url, serve says that only the
// localhost names are answered.
func TestServeWildcardHint(t *testing.T) {
	s := serve(t, "--store", tempStore(t), "--addr", "0.0.0.0:0")
	// (0.0.0.0 listens on :: too, and says so.)
	want := "ATTENTION : Sésame écoute sur toutes les interfaces ("
	if !strings.Contains(s.stderr.String(), want) || !strings.Contains(s.stderr.String(), ") mais ne répond qu'aux noms localhost : donnez --public-url") {
		t.Errorf("stderr lacks %q:\n%s", want, s.stderr)
	}
	if strings.Contains(s.stdout.String(), "http://0.0.0.0") {
		t.Errorf("the wildcard address is listed as a host:\n%s", s.stdout)
	}
	s2 := serve(t, "--store", tempStore(t), "--addr", "0.0.0.0:0", "--public-url", "http://192.0.2.10:8080")
	if strings.Contains(s2.stderr.String(), "toutes les interfaces") {
		t.Errorf("hint despite --public-url:\n%s", s2.stderr)
	}
}

func TestServeHostFlagsRefused(t *testing.T) {
	store := tempStore(t)
	sesameCmd(t, "", "serve", "--store", store, "--public-url", "ftp://sesame.example").
		refused(t, exitUsage, "valeur incorrecte pour --public-url : L'adresse publique « ftp://sesame.example » est incorrecte : elle doit commencer par http:// ou https://.")
	sesameCmd(t, "", "serve", "--store", store, "--public-url", "https://sesame.example/app").
		refused(t, exitUsage, "sans chemin")
	sesameCmd(t, "", "serve", "--store", store, "--trusted-proxy", "10.0.0.0/33").
		refused(t, exitUsage, "valeur incorrecte pour --trusted-proxy : Le relais de confiance « 10.0.0.0/33 » est incorrect : donnez un bloc CIDR")
	sesameCmd(t, "", "serve", "--store", store, "--trusted-proxy").
		refused(t, exitUsage, "l'option --trusted-proxy attend une valeur.")
}
