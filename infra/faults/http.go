package faults

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// HTTPClient is the HTTP client of an AWS SDK client (its Do method is what
// the SDK calls) that counts the write requests whose reply was lost: the
// request went out, and the reply failed or was cut short. Each one is a
// write whose outcome the client could not learn, whether or not it landed.
type HTTPClient struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
	writes, lost atomic.Int64
}

// NewHTTPClient wraps inner (http.DefaultClient's transport when nil).
func NewHTTPClient(inner interface {
	Do(*http.Request) (*http.Response, error)
}) *HTTPClient {
	if inner == nil {
		inner = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &HTTPClient{inner: inner}
}

// writeTargets are the DynamoDB operations that write.
var writeTargets = []string{".PutItem", ".UpdateItem", ".DeleteItem", ".TransactWriteItems", ".BatchWriteItem"}

func isWrite(r *http.Request) bool {
	t := r.Header.Get("X-Amz-Target")
	for _, w := range writeTargets {
		if strings.HasSuffix(t, w) {
			return true
		}
	}
	return false
}

// Do sends the request and watches its reply.
func (c *HTTPClient) Do(r *http.Request) (*http.Response, error) {
	write := isWrite(r)
	if write {
		c.writes.Add(1)
	}
	resp, err := c.inner.Do(r)
	if !write {
		return resp, err
	}
	if err != nil {
		c.lost.Add(1)
		return resp, err
	}
	resp.Body = &watchedBody{ReadCloser: resp.Body, lost: &c.lost}
	return resp, nil
}

// Writes returns how many write requests were sent, and how many of them
// lost their reply.
func (c *HTTPClient) Writes() (sent, lost int64) { return c.writes.Load(), c.lost.Load() }

// watchedBody counts a reply that breaks before its end, once.
type watchedBody struct {
	io.ReadCloser
	lost    *atomic.Int64
	counted bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !b.counted {
		b.counted = true
		b.lost.Add(1)
	}
	return n, err
}
