// Package s3object is the small S3 client of the recover function: the
// four calls it makes on its import bucket (PUT, GET and HEAD of an
// object, and a presigned PUT), signed with the AWS SDK's SigV4 signer
// over net/http. The SDK's own S3 client adds 1.3 MB to a binary
// (endpoint rules, checksums, SigV4a, XML, event streams), which the
// function's size budget has no room for; everything it does here is
// what these calls need.
//
// Requests go to https://<bucket>.s3.<region>.amazonaws.com/<key>, or,
// with an endpoint (AWS_ENDPOINT_URL_S3: versitygw, a test server), to
// <endpoint>/<bucket>/<key>. Each payload is signed with its SHA-256.
// A call is tried up to three times when S3 is busy (429, 500, 502, 503,
// 504) or the connection fails.
//
//	c := s3object.New(cfg, nil) // cfg: the function's aws.Config
//	err := c.Put(ctx, s3object.PutInput{Bucket: b, Key: k, Body: bytes.NewReader(data), Size: int64(len(data)), ContentType: "application/json"})
package s3object

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client makes S3 calls for one AWS configuration.
type Client struct {
	region   string
	creds    aws.CredentialsProvider
	endpoint *url.URL // nil: AWS's virtual-hosted endpoints
	http     *http.Client
	signer   *v4.Signer
	// attempts is how many times a call is tried (3).
	attempts int
	// backoff is the first wait between two attempts, doubled each time.
	backoff time.Duration
}

// New returns a client signing with cfg's credentials for cfg's region;
// endpoint, when set, is the S3 endpoint to use (path-style addressing).
func New(cfg aws.Config, endpoint *string) (*Client, error) {
	c := &Client{region: cfg.Region, creds: cfg.Credentials, http: http.DefaultClient, attempts: 3, backoff: 100 * time.Millisecond,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
	if cfg.HTTPClient != nil {
		if hc, ok := cfg.HTTPClient.(*http.Client); ok {
			c.http = hc
		}
	}
	if c.region == "" {
		return nil, errors.New("s3object: no region")
	}
	if c.creds == nil {
		return nil, errors.New("s3object: no credentials")
	}
	if endpoint != nil && *endpoint != "" {
		u, err := url.Parse(*endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("s3object: endpoint %q is not an http(s) URL", *endpoint)
		}
		c.endpoint = u
	}
	return c, nil
}

// Error is S3's answer to a call that failed: its status, and the code
// and message of its XML error body (HEAD has none: the code is then
// NotFound for 404, PreconditionFailed for 412, else the status text).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return "s3: " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// HTTPStatusCode is the status S3 answered.
func (e *Error) HTTPStatusCode() int { return e.Status }

// ErrorCode is S3's error code (NoSuchKey, PreconditionFailed…).
func (e *Error) ErrorCode() string { return e.Code }

// IsCode reports whether err is S3's error code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// PutInput is an object to write.
type PutInput struct {
	Bucket, Key string
	// Body holds Size bytes; it is read again when a call is retried.
	Body        io.ReadSeeker
	Size        int64
	ContentType string
	// IfNoneMatch "*" writes the object only if the key holds none (a
	// second write gets the code PreconditionFailed, status 412).
	IfNoneMatch string
}

// Object is what GET and HEAD answer.
type Object struct {
	// Body is the object's content (GET; the caller closes it), nil for
	// HEAD.
	Body          io.ReadCloser
	ContentLength int64
	ContentType   string
	ETag          string
	VersionID     string
	// Metadata are the x-amz-meta-* headers, by lower-case name without
	// the prefix (as the SDK gives them).
	Metadata map[string]string
}

// Put writes an object; it returns the new version's id (empty when the
// bucket is not versioned).
func (c *Client) Put(ctx context.Context, in PutInput) (string, error) {
	if in.Body == nil {
		return "", errors.New("s3object: put without a body")
	}
	start, err := in.Body.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(in.Body, in.Size+1)); err != nil {
		return "", err
	} else if n != in.Size {
		return "", fmt.Errorf("s3object: the body holds %d bytes, not %d", n, in.Size)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	res, err := c.do(ctx, http.MethodPut, in.Bucket, in.Key, "", func(r *http.Request) error {
		if _, err := in.Body.Seek(start, io.SeekStart); err != nil {
			return err
		}
		r.Body, r.ContentLength = io.NopCloser(io.LimitReader(in.Body, in.Size)), in.Size
		if in.Size == 0 {
			r.Body = http.NoBody
		}
		if in.ContentType != "" {
			r.Header.Set("Content-Type", in.ContentType)
		}
		if in.IfNoneMatch != "" {
			r.Header.Set("If-None-Match", in.IfNoneMatch)
		}
		return nil
	}, sum)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	return res.Header.Get("X-Amz-Version-Id"), nil
}

// Get reads an object, at version when given. Its body is the caller's
// to close.
func (c *Client) Get(ctx context.Context, bucket, key, version string) (*Object, error) {
	res, err := c.do(ctx, http.MethodGet, bucket, key, version, nil, emptySHA256)
	if err != nil {
		return nil, err
	}
	o := object(res)
	o.Body = res.Body
	return o, nil
}

// Head reads an object's metadata, at version when given.
func (c *Client) Head(ctx context.Context, bucket, key, version string) (*Object, error) {
	res, err := c.do(ctx, http.MethodHead, bucket, key, version, nil, emptySHA256)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return object(res), nil
}

// PresignPut returns a URL valid for ttl that writes in.Key with a PUT,
// and the headers the request must carry. The signature covers the key,
// Content-Length (in.Size), Content-Type and If-None-Match, so S3
// refuses any other; Body is not read.
func (c *Client) PresignPut(ctx context.Context, in PutInput, ttl time.Duration) (string, http.Header, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("s3object: credentials: %w", err)
	}
	u := c.url(in.Bucket, in.Key, "")
	q := u.Query()
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(ttl/time.Second), 10))
	u.RawQuery = q.Encode()
	r, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), nil)
	if err != nil {
		return "", nil, err
	}
	r.URL = u
	r.ContentLength = in.Size
	if in.ContentType != "" {
		r.Header.Set("Content-Type", in.ContentType)
	}
	if in.IfNoneMatch != "" {
		r.Header.Set("If-None-Match", in.IfNoneMatch)
	}
	return c.signer.PresignHTTP(ctx, creds, r, "UNSIGNED-PAYLOAD", "s3", c.region, time.Now())
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// do sends a signed request, prepared by prep (its body and headers),
// trying again while S3 is busy or unreachable. A status of 300 or more
// is an *Error.
func (c *Client) do(ctx context.Context, method, bucket, key, version string, prep func(*http.Request) error, payload string) (*http.Response, error) {
	var last error
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		res, err := c.once(ctx, method, bucket, key, version, prep, payload)
		if err == nil {
			return res, nil
		}
		last = err
		var se *Error
		retry := !errors.As(err, &se) || se.Status == http.StatusTooManyRequests || se.Status >= 500 && se.Status != http.StatusNotImplemented
		if !retry || attempt >= c.attempts || ctx.Err() != nil {
			return nil, last
		}
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, last
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, method, bucket, key, version string, prep func(*http.Request) error, payload string) (*http.Response, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "Credentials", Message: err.Error()}
	}
	r, err := http.NewRequestWithContext(ctx, method, "http://placeholder/", nil)
	if err != nil {
		return nil, err
	}
	r.URL = c.url(bucket, key, version)
	r.Host = r.URL.Host
	if prep != nil {
		if err := prep(r); err != nil {
			return nil, err
		}
	}
	r.Header.Set("X-Amz-Content-Sha256", payload)
	// The object as stored: never gunzipped on the way (Go's transport
	// would, and lose its length, for an object stored with
	// Content-Encoding: gzip).
	r.Header.Set("Accept-Encoding", "identity")
	if err := c.signer.SignHTTP(ctx, creds, r, payload, "s3", c.region, time.Now()); err != nil {
		return nil, err
	}
	res, err := c.http.Do(r)
	if err != nil {
		return nil, fmt.Errorf("s3object: %s %s: %w", method, key, err)
	}
	if res.StatusCode < 300 {
		return res, nil
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
	e := &Error{Status: res.StatusCode, Code: element(body, "Code"), Message: element(body, "Message")}
	if e.Code == "" {
		switch res.StatusCode {
		case http.StatusNotFound:
			e.Code = "NotFound"
		case http.StatusPreconditionFailed:
			e.Code = "PreconditionFailed"
		default:
			e.Code = strings.ReplaceAll(http.StatusText(res.StatusCode), " ", "")
		}
	}
	return nil, e
}

// url is where an object is: path-style on the configured endpoint,
// virtual-hosted on AWS's.
func (c *Client) url(bucket, key, version string) *url.URL {
	var u url.URL
	path := "/" + key
	if c.endpoint != nil {
		u.Scheme, u.Host = c.endpoint.Scheme, c.endpoint.Host
		path = strings.TrimSuffix(c.endpoint.Path, "/") + "/" + bucket + path
	} else {
		u.Scheme, u.Host = "https", bucket+".s3."+c.region+".amazonaws.com"
		if strings.HasPrefix(c.region, "cn-") {
			u.Host += ".cn"
		}
	}
	u.Path, u.RawPath = path, escapePath(path)
	if version != "" {
		u.RawQuery = "versionId=" + url.QueryEscape(version)
	}
	return &u
}

// escapePath percent-encodes every byte of p but the unreserved ones and
// "/", as S3's canonical request wants a key (encoded once).
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~/", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[ch>>4])
		b.WriteByte(hexDigits[ch&15])
	}
	return b.String()
}

// element is the text of the first <name> element of S3's XML error
// body, unescaped ("" when there is none).
func element(body []byte, name string) string {
	s := string(body)
	i := strings.Index(s, "<"+name+">")
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+2:]
	j := strings.Index(s, "</"+name+">")
	if j < 0 {
		return ""
	}
	return xmlUnescape.Replace(s[:j])
}

var xmlUnescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

func object(res *http.Response) *Object {
	o := &Object{ContentLength: res.ContentLength, ContentType: res.Header.Get("Content-Type"), ETag: res.Header.Get("ETag"),
		VersionID: res.Header.Get("X-Amz-Version-Id"), Metadata: map[string]string{}}
	for name, v := range res.Header {
		if m, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(v) > 0 {
			o.Metadata[m] = v[0]
		}
	}
	return o
}
