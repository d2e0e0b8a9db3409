package s3local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/tabledef"
)

// Filter is one S3 notification of the template: its bucket, event type
// prefix and key filters.
type Filter struct {
	Bucket string
	Events string // "s3:ObjectCreated:*"
	Prefix string
	Suffix string
}

// matches reports whether an event (named as S3 names them in records,
// "ObjectCreated:Put") on bucket and key is one f sends.
func (f Filter) matches(bucket, eventName, key string) bool {
	events := strings.TrimSuffix(strings.TrimPrefix(f.Events, "s3:"), "*")
	if bucket != f.Bucket || !strings.HasPrefix(eventName, events) {
		return false
	}
	return strings.HasPrefix(key, f.Prefix) && strings.HasSuffix(key, f.Suffix)
}

// TemplateFilters reads the S3 events of function logicalID in template
// (SAM's Events of Type S3): bucket is the name of the bucket they name.
func TemplateFilters(template []byte, logicalID, bucket string) ([]Filter, error) {
	tpl, err := tabledef.DecodeTemplate(template)
	if err != nil {
		return nil, err
	}
	evs, _ := localtool.Dig(tpl, "Resources", logicalID, "Properties", "Events").(map[string]any)
	var out []Filter
	for _, ev := range evs {
		if localtool.Dig(ev, "Type") != "S3" {
			continue
		}
		f := Filter{Bucket: bucket, Events: fmt.Sprint(localtool.Dig(ev, "Properties", "Events"))}
		rules, _ := localtool.Dig(ev, "Properties", "Filter", "S3Key", "Rules").([]any)
		for _, r := range rules {
			switch v := fmt.Sprint(localtool.Dig(r, "Value")); localtool.Dig(r, "Name") {
			case "prefix":
				f.Prefix = v
			case "suffix":
				f.Suffix = v
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("s3local: %s has no S3 event in the template", logicalID)
	}
	return out, nil
}

// EncodeKey encodes a key as S3 notifications do: URL-encoded, a space
// as "+", the slashes left alone.
func EncodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// Bridge turns versitygw's webhook records into S3's notifications to
// Lambda and delivers them, one at a time and in order, as Lambda's
// asynchronous invocations do (Deliver: lambdarie.Async.Deliver, retries
// and on-failure destination included).
type Bridge struct {
	S3      *s3.Client // reads each object's version back
	Filters []Filter
	Deliver func(ctx context.Context, event []byte) ([]byte, error)
	// OnUnreadable, when set, receives a webhook body the bridge could not
	// turn into notifications, and why (the caller's on-failure
	// destination): nothing is dropped silently.
	OnUnreadable func(body []byte, err error)

	once    sync.Once
	queue   chan []byte
	mu      sync.Mutex
	pending sync.WaitGroup
	errs    []error
	sent    int
	done    int
}

// Handle takes one webhook body; it queues the notifications it makes and
// returns at once (versitygw waits for the webhook's answer).
func (b *Bridge) Handle(body []byte) {
	b.once.Do(func() {
		b.queue = make(chan []byte, 1024)
		go b.run()
	})
	b.pending.Add(1)
	b.queue <- body
}

func (b *Bridge) run() {
	for body := range b.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		evs, err := b.Convert(ctx, body)
		if err != nil {
			b.fail(err)
			if b.OnUnreadable != nil {
				b.OnUnreadable(body, err)
			}
		}
		for _, raw := range evs {
			b.mu.Lock()
			b.sent++
			b.mu.Unlock()
			if _, err := b.Deliver(ctx, raw); err != nil {
				b.fail(err)
			}
			b.mu.Lock()
			b.done++
			b.mu.Unlock()
		}
		cancel()
		b.pending.Done()
	}
}

func (b *Bridge) fail(err error) {
	b.mu.Lock()
	b.errs = append(b.errs, err)
	b.mu.Unlock()
}

// Wait waits until every body handled so far has been delivered (or has
// gone to the on-failure destination), and returns how many notifications
// were sent and the errors met, if any.
func (b *Bridge) Wait() (int, []error) {
	b.pending.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent, append([]error(nil), b.errs...)
}

// WaitDelivered waits until n notifications in all have been delivered
// (or have gone to the on-failure destination): versitygw calls the
// webhook after answering the PUT, so a writer cannot wait on Wait alone.
func (b *Bridge) WaitDelivered(ctx context.Context, n int) error {
	for {
		b.mu.Lock()
		done := b.done
		b.mu.Unlock()
		if done >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("s3local: %d of %d notifications delivered: %w", done, n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// gwRecord is the part of versitygw's record the bridge reads.
type gwRecord struct {
	EventTime string `json:"eventTime"`
	EventName string `json:"eventName"`
	AWSRegion string `json:"awsRegion"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

// Convert turns one webhook body into S3 notifications, one record each
// as S3 sends them to Lambda: the test event and records outside the
// filters give none.
func (b *Bridge) Convert(ctx context.Context, body []byte) ([]json.RawMessage, error) {
	var in struct {
		Records []gwRecord `json:"Records"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("s3local: webhook body: %w", err)
	}
	var out []json.RawMessage
	for _, r := range in.Records {
		name := strings.TrimPrefix(r.EventName, "s3:")
		bucket, key := r.S3.Bucket.Name, r.S3.Object.Key
		matched := false
		for _, f := range b.Filters {
			matched = matched || f.matches(bucket, name, key)
		}
		if !matched {
			continue
		}
		// S3 notifies a PUT even when the object is gone by the time the
		// function runs: an object already deleted is notified without
		// its version, and the function finds it missing.
		var version *string
		head, err := b.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		var notFound *types.NotFound
		switch {
		case errors.As(err, &notFound):
		case err != nil:
			return out, fmt.Errorf("s3local: reading back %s/%s: %w", bucket, key, err)
		default:
			version = head.VersionId
		}
		at, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil {
			at = time.Now().UTC()
		}
		rec := events.S3EventRecord{
			EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: r.AWSRegion, EventTime: at, EventName: name,
			PrincipalID:       events.S3UserIdentity{PrincipalID: "AWS:local"},
			RequestParameters: events.S3RequestParameters{SourceIPAddress: "127.0.0.1"},
			S3: events.S3Entity{
				SchemaVersion: "1.0", ConfigurationID: "local",
				Bucket: events.S3Bucket{Name: bucket, OwnerIdentity: events.S3UserIdentity{PrincipalID: "local"}, Arn: "arn:aws:s3:::" + bucket},
				Object: events.S3Object{Key: EncodeKey(key), Size: r.S3.Object.Size, ETag: strings.Trim(r.S3.Object.ETag, `"`),
					VersionID: aws.ToString(version), Sequencer: fmt.Sprintf("%016X", at.UnixNano())},
			},
		}
		out = append(out, Wire(events.S3Event{Records: []events.S3EventRecord{rec}}))
	}
	return out, nil
}

// Wire is ev as S3 sends it: without urlDecodedKey, which only the Go type
// has.
func Wire(ev events.S3Event) json.RawMessage {
	raw, _ := json.Marshal(ev)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, r := range m["Records"].([]any) {
		delete(localtool.Dig(r, "s3", "object").(map[string]any), "urlDecodedKey")
	}
	raw, _ = json.Marshal(m)
	return raw
}
