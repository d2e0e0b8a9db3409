package s3local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/s3object"
)

// Versitygw is the pinned S3 server.
var Versitygw = localtool.Tool{
	Name:    "versitygw",
	Module:  "github.com/versity/versitygw",
	Package: "github.com/versity/versitygw/cmd/versitygw",
	Version: "v1.8.0",
}

// The credentials and region of the local server (any will do; the SDK
// signs with them and versitygw checks the signatures).
const (
	Region    = "eu-west-3"
	AccessKey = "sesamelocal"
	SecretKey = "sesamelocalsecret"
)

// Install returns the path of the pinned versitygw in .cache/bin, building
// it first when needed (about 1 min 45 s on 2 cores).
func Install(ctx context.Context) (string, error) {
	dir, err := localtool.BinDir()
	if err != nil {
		return "", err
	}
	return Versitygw.Install(ctx, dir)
}

// Credentials are the access key, secret and region a server accepts.
type Credentials struct{ AccessKey, SecretKey, Region string }

// Server is a running versitygw with its event webhook.
type Server struct {
	creds    Credentials
	proc     *localtool.Process
	endpoint string
	hook     *http.Server

	mu      sync.Mutex
	onEvent func(body []byte)
}

// Start runs versitygw (bin) on dir (which it creates: data/ and
// versions/ inside) on a free loopback port, with versioning available
// and its webhook pointed at a listener of this process; events go to the
// function set by OnEvent (dropped until then).
func Start(ctx context.Context, bin, dir string) (*Server, error) {
	return StartWith(ctx, bin, dir, Credentials{AccessKey, SecretKey, Region})
}

// StartWith is Start with the credentials and region the server accepts
// (the local hosted stack takes them from the environment).
func StartWith(ctx context.Context, bin, dir string, c Credentials) (*Server, error) {
	data, versions := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, versions} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Server{creds: c}
	// versitygw sends s3:TestEvent at start and exits unless the webhook
	// answers: it must listen first.
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.hook = &http.Server{Handler: http.HandlerFunc(s.webhook), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.hook.Serve(hl) }()
	for attempt := 1; ; attempt++ {
		var addrs []string
		if addrs, err = localtool.FreeAddrs(1); err != nil {
			break
		}
		cmd := exec.Command(bin, "--access", c.AccessKey, "--secret", c.SecretKey, "--region", c.Region,
			"--port", addrs[0], "--event-webhook-url", "http://"+hl.Addr().String()+"/", "posix", "--versioning-dir", versions, data)
		s.proc, err = localtool.StartProcess(ctx, cmd, addrs[0], 64<<10, 10*time.Second)
		s.endpoint = "http://" + addrs[0]
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		s.hook.Close()
		return nil, fmt.Errorf("s3local: %w", err)
	}
	return s, nil
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.onEvent
	s.mu.Unlock()
	if f != nil {
		f(body)
	}
}

// OnEvent sets the function that receives each webhook body versitygw
// sends (a Bridge's Handle). It must not block long: versitygw waits.
func (s *Server) OnEvent(f func(body []byte)) {
	s.mu.Lock()
	s.onEvent = f
	s.mu.Unlock()
}

// Endpoint is the server's URL, http://127.0.0.1:<port>.
func (s *Server) Endpoint() string { return s.endpoint }

// Output returns the last lines versitygw printed.
func (s *Server) Output() string { return s.proc.Output.String() }

// Client returns an S3 client for the server (path-style addressing,
// the SDK's default checksums), signed with secret (the server's own when
// "").
func (s *Server) Client(secret string) *s3.Client {
	if secret == "" {
		secret = s.creds.SecretKey
	}
	return s3.New(s3.Options{BaseEndpoint: aws.String(s.endpoint), Region: s.creds.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.creds.AccessKey, secret, "")})
}

// ObjectClient returns the recover function's S3 client (infra/s3object)
// for the server, signed with secret (the server's own when "").
func (s *Server) ObjectClient(secret string) *s3object.Client {
	if secret == "" {
		secret = s.creds.SecretKey
	}
	c, err := s3object.New(aws.Config{Region: s.creds.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.creds.AccessKey, secret, "")}, &s.endpoint)
	if err != nil {
		panic(err) // the endpoint is the server's own
	}
	return c
}

// CreateBucket creates a bucket, versioned when asked.
func (s *Server) CreateBucket(ctx context.Context, name string, versioned bool) error {
	c := s.Client("")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("s3local: create bucket %s: %w", name, err)
	}
	if !versioned {
		return nil
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		return fmt.Errorf("s3local: versioning on %s: %w", name, err)
	}
	return nil
}

// Env returns the variables that point an AWS SDK at the server: the
// S3 endpoint, the credentials and region.
func (s *Server) Env() []string {
	return []string{"AWS_ENDPOINT_URL_S3=" + s.endpoint, "AWS_ACCESS_KEY_ID=" + s.creds.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.creds.SecretKey, "AWS_REGION=" + s.creds.Region}
}

// Stop kills versitygw and closes the webhook.
func (s *Server) Stop() {
	s.proc.Stop()
	_ = s.hook.Close()
}
