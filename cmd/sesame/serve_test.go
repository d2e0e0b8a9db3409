package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// signIn posts a sign-in to the server at base and returns the answer.
func signIn(t *testing.T, client *http.Client, base, login, mode string) (*http.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"school": demoUAI, "login": login, "password": demoPassword, "mode": mode})
	req, err := http.NewRequest(http.MethodPost, base+httpapi.Prefix+"/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", base)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	defer res.Body.Close()
	var v map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("login %s: %d %q", login, res.StatusCode, raw)
	}
	return res, v
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", res.Header.Values("Set-Cookie"))
	return nil
}

func TestServeDemo(t *testing.T) {
	store := tempStore(t)
	s := serve(t, "--demo", "--store", store)
	year := string(sesame.SchoolYearOf(time.Now()))
	for _, want := range []string{
		"Établissement de démonstration créé : Collège de démonstration Jean Moulin, 0751234A, année " + year + ".",
		"Comptes de démonstration (code établissement 0751234A, mot de passe « demo-sesame » pour tous) :",
		"secretariat1", "prof.martin", "eleve.durand",
		"le 5e compte du groupe Modification est refusé tant que 4 sont connectés",
		"Sésame écoute sur " + s.url + "/ (stockage " + store + ")",
	} {
		if !strings.Contains(s.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, s.stdout)
		}
	}
	if !strings.Contains(s.stderr.String(), "ATTENTION : Sésame est servi en HTTP simple, sans chiffrement : ce n'est acceptable que sur cette machine (localhost).") {
		t.Errorf("no plain-HTTP warning on stderr:\n%s", s.stderr)
	}

	client := &http.Client{Timeout: 30 * time.Second}
	res, v := signIn(t, client, s.url, "secretariat1", "admin")
	if res.StatusCode != http.StatusOK || v["mode"] != "admin" {
		t.Fatalf("demo sign-in: %d %v", res.StatusCode, v)
	}
	if c := sessionCookie(t, res); c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over plain HTTP: %+v", c)
	}
	if seat := v["seat"].(map[string]any); seat["pool"] != "admin-modify" || seat["limit"] != 4.0 {
		t.Errorf("seat %v", seat)
	}
	// Every demo account signs in, in its mode.
	for _, a := range []struct{ login, mode string }{{"spr", "admin"}, {"gestionnaire", "admin"}, {"cpe", "vie-scolaire"},
		{"prof.dubois", "teacher"}, {"parent.petit", "parent"}, {"eleve.petit", "student"}, {"tuteur.stage", "company"}, {"inspection", "academy"}} {
		body := map[string]string{"school": demoUAI, "login": a.login, "password": demoPassword, "mode": a.mode}
		if a.login == "gestionnaire" {
			body["access"] = "consult"
		}
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/login", bytes.NewReader(raw))
		req.Header.Set("Origin", s.url)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("demo account %s in %s: %d", a.login, a.mode, res.StatusCode)
		}
	}
	// The pages are served too.
	page, err := client.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Errorf("GET /: %d", page.StatusCode)
	}
	// Requests are logged as JSON on stderr.
	if !strings.Contains(s.stderr.String(), `"route":"/login"`) {
		t.Errorf("no request log on stderr:\n%s", s.stderr)
	}

	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve stopped with %d:\n%s", code, s.stderr)
	}
	if !strings.HasSuffix(s.stdout.String(), "Arrêt du serveur…\n") {
		t.Errorf("stdout ends with:\n%s", s.stdout)
	}

	// A second start finds the demo and keeps it.
	s2 := serve(t, "--demo", "--store", store)
	if !strings.Contains(s2.stdout.String(), "Établissement de démonstration déjà présent (0751234A, "+year+").") {
		t.Errorf("second start:\n%s", s2.stdout)
	}
	res, _ = signIn(t, client, s2.url, "prof.martin", "teacher")
	if res.StatusCode != http.StatusOK {
		t.Errorf("sign-in after restart: %d", res.StatusCode)
	}
	// Its address is taken: a third server cannot listen there.
	r := sesameCmd(t, "", "serve", "--store", tempStore(t), "--addr", strings.TrimPrefix(s2.url, "http://"))
	r.want(t, exitFailure, nil, []string{"sesame : écoute sur " + strings.TrimPrefix(s2.url, "http://") + " impossible", "[internal]"})
	if code := s2.stop(t); code != exitOK {
		t.Fatalf("second serve stopped with %d", code)
	}
}

func TestServeRefusals(t *testing.T) {
	store := tempStore(t)
	dir := t.TempDir()
	sesameCmd(t, "", "serve", "--store", store, "--tls-cert", filepath.Join(dir, "cert.pem")).
		refused(t, exitUsage, "--tls-cert et --tls-key vont ensemble.")
	sesameCmd(t, "", "serve", "--store", store, "--tls-key", filepath.Join(dir, "key.pem")).
		refused(t, exitUsage, "--tls-cert et --tls-key vont ensemble.")
	sesameCmd(t, "", "serve", "--store", store, "--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem")).
		refused(t, exitUsage, "Le certificat "+filepath.Join(dir, "cert.pem")+" ou la clé "+filepath.Join(dir, "key.pem")+" ne peut pas être lu")
	sesameCmd(t, "", "serve", "--store", store, "--heartbeat", "soixante").
		refused(t, exitUsage, "valeur incorrecte pour --heartbeat : écrivez une durée comme 500ms, 30s, 2m ou 1h30m.")
	sesameCmd(t, "", "serve", "--store", store, "--heartbeat", "2m", "--lease", "3m").
		refused(t, exitUsage, "La durée d'une connexion sans signal doit couvrir au moins deux signaux de présence. [invalid_value]")
	sesameCmd(t, "", "serve", "--store", store, "--report", "-1m").
		refused(t, exitUsage, "Les durées de session doivent être positives. [invalid_value]")
	sesameCmd(t, "", "serve", "--store", store, "--addr", "nulle-part").refused(t, exitFailure, "écoute sur nulle-part impossible")
	sesameCmd(t, "", "serve", "--store", store, "--demo=peut-être").refused(t, exitUsage, "valeur incorrecte pour --demo")
	sesameCmd(t, "", "serve", "--store", store, "8080").refused(t, exitUsage, "argument en trop : « 8080 ».")
}

func TestPlainHTTPWarning(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1":    "ATTENTION : Sésame est servi en HTTP simple, sans chiffrement",
		"::1":          "ATTENTION",
		"0.0.0.0":      "DANGER : Sésame est servi en HTTP simple sur une adresse du réseau (0.0.0.0) : les mots de passe et les sessions circulent en clair.",
		"192.168.1.10": "DANGER",
		"::":           "DANGER",
	} {
		if got := plainHTTPWarning(host); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %s", host, got)
		}
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Sésame de test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	// The key of another certificate does not match.
	_, otherKey, _ := selfSigned(t)
	sesameCmd(t, "", "serve", "--store", tempStore(t), "--tls-cert", certFile, "--tls-key", otherKey).
		refused(t, exitUsage, "ne peut pas être lu (tls: private key does not match public key)")

	s := serve(t, "--demo", "--store", tempStore(t), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("listens on %s", s.url)
	}
	if strings.Contains(s.stderr.String(), "HTTP simple") {
		t.Errorf("plain-HTTP warning over HTTPS:\n%s", s.stderr)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, v := signIn(t, client, s.url, "secretariat1", "admin")
	if res.StatusCode != http.StatusOK || res.TLS == nil {
		t.Fatalf("sign-in over HTTPS: %d %v", res.StatusCode, v)
	}
	if c := sessionCookie(t, res); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over HTTPS: %+v", c)
	}
	// A client that does not trust the certificate gets nowhere.
	if _, err := http.Get(s.url + "/api/v1/permissions"); err == nil {
		t.Errorf("untrusted certificate accepted")
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve stopped with %d", code)
	}
}

// The real program: flags, exit codes and signals as a shell sees them.
func TestServeBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the binary: " + err.Error())
	}
	bin := filepath.Join(t.TempDir(), "sesame")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	var stderr bytes.Buffer
	bad := exec.Command(bin, "school", "create", "--uai", uai, "--year", year, "--name", "X", "--admin-seats", "0")
	bad.Stderr = &stderr
	var exit *exec.ExitError
	if err := bad.Run(); !errors.As(err, &exit) || exit.ExitCode() != exitUsage ||
		!strings.Contains(stderr.String(), "sesame : valeur incorrecte pour --admin-seats") {
		t.Fatalf("bad flag: %v, stderr %s", err, stderr.String())
	}

	store := tempStore(t)
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0", "--store", store)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out syncBuffer
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = out.Write([]byte(sc.Text() + "\n"))
		}
	}()
	base := waitFor(t, out.String, listenRE)
	res, v := signIn(t, &http.Client{Timeout: 30 * time.Second}, base, "prof.martin", "teacher")
	if res.StatusCode != http.StatusOK || v["mode"] != "teacher" {
		t.Fatalf("sign-in on the binary's server: %d %v", res.StatusCode, v)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait reads no more once the process is gone: read stdout to its end
	// first.
	select {
	case <-eof:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\nstderr: %s", err, errOut.String())
	}
	if !strings.HasSuffix(out.String(), "Arrêt du serveur…\n") {
		t.Errorf("stdout: %s", out.String())
	}
	if !strings.Contains(errOut.String(), "ATTENTION : Sésame est servi en HTTP simple") {
		t.Errorf("stderr: %s", errOut.String())
	}
}
