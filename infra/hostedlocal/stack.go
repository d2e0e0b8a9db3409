package hostedlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/dynamometer"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/web"
)

// Options start a [Stack]. The zero value is `make run-hosted`'s.
type Options struct {
	// Addr is the gateway's listen address (127.0.0.1:0 when empty).
	Addr string
	// AccessKey, SecretKey and Region are the credentials the functions
	// and clients sign with, and that versitygw accepts (local, local,
	// eu-west-3 when empty).
	AccessKey, SecretKey, Region string
	// DynamoDB is the endpoint of a running DynamoDB Local to use (tests
	// share one); empty: the stack starts its own.
	DynamoDB string
	// FunctionsDynamoDB is the endpoint the functions reach DynamoDB at
	// (a proxy that a test cuts); the stack's DynamoDB when empty.
	FunctionsDynamoDB string
	// Table, ImportBucket and WebBucket name the table and buckets
	// (sesame-local, sesame-local-imports, sesame-local-web when empty).
	Table, ImportBucket, WebBucket string
	// Web holds the files of the web bucket (web/static, the agent built
	// into agent/); web.Static() when nil.
	Web fs.FS
	// Instances is how many instances run each function, by logical id
	// (DefaultInstances for those not named).
	Instances map[string]int
	// Env is added to every function's environment (SESAME_HEARTBEAT…).
	Env []string
	// RetryDelay stands for Lambda's wait between the attempts of an
	// asynchronous invocation (a second when 0).
	RetryDelay time.Duration
	// Wrap, when set, stands in front of the gateway (a test that watches
	// or cuts requests).
	Wrap func(http.Handler) http.Handler
	// Log receives the stack's own log (errors, the failure destination);
	// discarded when nil.
	Log *slog.Logger
	// Warm invokes every instance once before Start returns, so that the
	// first requests find the functions initialised, as a deployed stack
	// in use does (a cold start under qemu takes seconds).
	Warm bool
	// Meter puts a dynamometer.Meter between the functions and DynamoDB,
	// which counts each function's requests by the route it serves
	// (Stack.Meter).
	Meter bool
}

// DefaultInstances is how many instances run each function by default:
// two for the functions a browser calls at once (sign-in, heartbeats,
// pages), one for the others.
var DefaultInstances = map[string]int{"LoginFunction": 2, "SeatsFunction": 2, "AuthorizeFunction": 2, "AdminFunction": 1, "RecoverFunction": 1}

// OriginSecret is the local distribution's origin secret.
const OriginSecret = "sesame-local-origin-secret"

// Stack is the hosted deployment running on this machine.
type Stack struct {
	URL          string // the site, http://127.0.0.1:PORT/
	Table        string
	DynamoDB     string // DynamoDB Local's endpoint
	S3           string // versitygw's endpoint
	ImportBucket string
	WebBucket    string
	// Meter counts the functions' DynamoDB requests by route, when
	// Options.Meter asked for it.
	Meter *dynamometer.Meter

	opts     Options
	dir      string
	dynamo   *dynamolocal.Server
	s3       *s3local.Server
	pools    map[string]*Pool
	trigger  *Pool
	bridge   *s3local.Bridge
	server   *http.Server
	mu       sync.Mutex
	failures []Failure
	stopOnce sync.Once
}

// Failure is an S3 event the recover function gave up on, as the
// on-failure destination (an SQS queue in the cloud) keeps it.
type Failure struct {
	Event json.RawMessage `json:"requestPayload"`
	Error string          `json:"error"`
}

func (o *Options) defaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Addr, "127.0.0.1:0")
	def(&o.AccessKey, "local")
	def(&o.SecretKey, "local")
	def(&o.Region, "eu-west-3")
	def(&o.Table, "sesame-local")
	// Bucket names as the template's: lower case, no dots.
	base := strings.ReplaceAll(strings.ToLower(o.Table), ".", "-")
	def(&o.ImportBucket, base+"-imports")
	def(&o.WebBucket, base+"-web")
	if o.Web == nil {
		o.Web = web.Static()
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	inst := maps.Clone(DefaultInstances)
	maps.Copy(inst, o.Instances)
	o.Instances = inst
}

// Start installs what is missing (DynamoDB Local, versitygw, RIE, each
// function's artifact), starts the stack and returns when the site
// answers. On error everything started is stopped.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	o.defaults()
	st := &Stack{opts: o, Table: o.Table, ImportBucket: o.ImportBucket, WebBucket: o.WebBucket, pools: map[string]*Pool{}}
	defer func() {
		if err != nil {
			st.Stop()
		}
	}()
	if st.dir, err = os.MkdirTemp("", "sesame-hosted-"); err != nil {
		return nil, err
	}
	// The slow parts at once: installs, builds, the template's transform.
	var p prepared
	if err := p.run(ctx, o); err != nil {
		return nil, err
	}
	if st.DynamoDB = o.DynamoDB; st.DynamoDB == "" {
		if st.dynamo, err = dynamolocal.Start(ctx, p.dynamoDir); err != nil {
			return nil, err
		}
		st.DynamoDB = st.dynamo.Endpoint()
	}
	if err := st.createTable(ctx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("hostedlocal: %w", err)
	}
	st.server = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	st.URL = "http://" + ln.Addr().String() + "/"
	if err := st.startS3(ctx, p.versitygw, p.parsed); err != nil {
		ln.Close()
		return nil, err
	}
	if err := st.startFunctions(ctx, p); err != nil {
		ln.Close()
		return nil, err
	}
	if err := st.startBridge(); err != nil {
		ln.Close()
		return nil, err
	}
	routes, err := Routes(p.transformed)
	if err != nil {
		ln.Close()
		return nil, err
	}
	edge, err := EdgeOf(p.parsed, OriginSecret, st.S3)
	if err != nil {
		ln.Close()
		return nil, err
	}
	fns := map[string]Invoker{}
	for id, pool := range st.pools {
		fns[id] = pool
	}
	var h http.Handler = &Gateway{Edge: edge, Routes: routes, Functions: fns, Web: st.s3.Client(""), WebBucket: o.WebBucket,
		NJS: p.njs, Log: o.Log, APIHost: "local.execute-api." + o.Region + ".amazonaws.com"}
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	st.server.Handler = h
	go func() { _ = st.server.Serve(ln) }()
	if o.Warm {
		st.warm(ctx)
	}
	return st, nil
}

// warmEvent is a request every function answers at once, whatever its
// routes (without a session, or not one of its routes).
const warmEvent = `{"version":"2.0","routeKey":"GET /api/v1/session","rawPath":"/api/v1/session","headers":{},` +
	`"requestContext":{"http":{"method":"GET","path":"/api/v1/session","sourceIp":"127.0.0.1"},"routeKey":"GET /api/v1/session"}}`

// warm invokes every instance of the API's functions once, all at once,
// so that each is initialised. A failure is logged: the call that meets
// it will say more.
func (st *Stack) warm(ctx context.Context) {
	var wg sync.WaitGroup
	for id, p := range st.pools {
		for _, in := range p.all {
			wg.Go(func() {
				if _, err := in.Invoke(ctx, []byte(warmEvent)); err != nil {
					st.opts.Log.Error("warming a function", "function", id, "error", err)
				}
			})
		}
	}
	wg.Wait()
}

// prepared is what Start installs and reads before starting anything.
type prepared struct {
	dynamoDir, versitygw, rie, qemu, njs string
	artifacts                            map[string]string
	parsed, transformed                  map[string]any
}

func (p *prepared) run(ctx context.Context, o Options) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	step := func(name string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
		})
	}
	if o.DynamoDB == "" {
		step("DynamoDB Local", func() (err error) {
			dir, err := dynamolocal.DefaultCacheDir()
			if err == nil {
				p.dynamoDir, err = dynamolocal.Install(ctx, dir)
			}
			return err
		})
	}
	step("versitygw", func() (err error) { p.versitygw, err = s3local.Install(ctx); return err })
	step("Lambda RIE", func() (err error) { p.rie, err = lambdarie.InstallEmulator(ctx); return err })
	step("qemu-user", func() (err error) { p.qemu, err = lambdarie.Qemu(); return err })
	step("njs", func() (err error) { p.njs, err = lookNJS(); return err })
	step("aws-sam-translator", func() (err error) {
		if p.parsed, err = samlocal.Parse(ctx, sesame.Template); err != nil {
			return err
		}
		p.transformed, err = samlocal.Transform(ctx, sesame.Template)
		return err
	})
	p.artifacts = map[string]string{}
	// One build at a time: each already uses every core.
	step("functions", func() error {
		for _, f := range lambdarie.Functions {
			path, err := lambdarie.BuildArtifact(ctx, f)
			if err != nil {
				return err
			}
			mu.Lock()
			p.artifacts[f.LogicalID] = path
			mu.Unlock()
		}
		return nil
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return &MissingError{Err: err}
	}
	return nil
}

// MissingError is a start that failed for want of a component (an
// install, a build, a tool of the machine).
type MissingError struct{ Err error }

func (e *MissingError) Error() string { return "hostedlocal: " + e.Err.Error() }
func (e *MissingError) Unwrap() error { return e.Err }

func (st *Stack) dynamoClient() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(st.DynamoDB), Region: st.opts.Region,
		Credentials: credentials.NewStaticCredentialsProvider(st.opts.AccessKey, st.opts.SecretKey, "")})
}

// DynamoDBClient is a client of the stack's DynamoDB, with its
// credentials.
func (st *Stack) DynamoDBClient() *dynamodb.Client { return st.dynamoClient() }

// S3Client is a client of the stack's S3 server, with its credentials.
func (st *Stack) S3Client() *s3.Client { return st.s3.Client("") }

func (st *Stack) createTable(ctx context.Context) error {
	client := st.dynamoClient()
	exists, err := tabledef.Exists(ctx, client, st.Table)
	if err != nil || exists {
		return err
	}
	spec, err := tabledef.Parse(sesame.Template)
	if err != nil {
		return err
	}
	return tabledef.Create(ctx, client, spec, st.Table)
}

// startS3 starts versitygw with the import bucket (versioned, with the
// template's CORS rule for the site) and the web bucket, filled as `make
// deploy-web` fills it.
func (st *Stack) startS3(ctx context.Context, bin string, template map[string]any) (err error) {
	o := st.opts
	st.s3, err = s3local.StartWith(ctx, bin, filepath.Join(st.dir, "s3"), s3local.Credentials{AccessKey: o.AccessKey, SecretKey: o.SecretKey, Region: o.Region})
	if err != nil {
		return err
	}
	st.S3 = st.s3.Endpoint()
	for _, b := range []string{o.ImportBucket, o.WebBucket} {
		if err := st.s3.CreateBucket(ctx, b, true); err != nil {
			return err
		}
	}
	c := st.s3.Client("")
	rules, err := importCORS(template, st.URL[:len(st.URL)-1])
	if err != nil {
		return err
	}
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(o.ImportBucket), CORSConfiguration: &s3types.CORSConfiguration{CORSRules: rules}})
	if err != nil {
		return fmt.Errorf("hostedlocal: CORS of %s: %w", o.ImportBucket, err)
	}
	return uploadWeb(ctx, c, o.WebBucket, o.Web)
}

// uploadWeb puts the web files into bucket with the headers web.Objects
// gives them, as `make deploy-web` does.
func uploadWeb(ctx context.Context, c *s3.Client, bucket string, files fs.FS) error {
	objs, err := web.Objects(files)
	if err != nil {
		return err
	}
	for _, ob := range objs {
		b, err := fs.ReadFile(files, ob.Key)
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(ob.Key), Body: bytes.NewReader(b),
			ContentType: aws.String(ob.ContentType), CacheControl: aws.String(ob.CacheControl)}
		if ob.ContentEncoding != "" {
			in.ContentEncoding = aws.String(ob.ContentEncoding)
		}
		if _, err := c.PutObject(ctx, in); err != nil {
			return fmt.Errorf("hostedlocal: web bucket %s: %w", ob.Key, err)
		}
	}
	return nil
}

// startFunctions runs each function's instances under RIE, with the
// template's environment, plus one more recover instance for the S3
// trigger (Lambda runs asynchronous invocations apart from the API's).
func (st *Stack) startFunctions(ctx context.Context, p prepared) error {
	o := st.opts
	if o.Meter {
		target := o.FunctionsDynamoDB
		if target == "" {
			target = st.DynamoDB
		}
		m, err := dynamometer.Start(target)
		if err != nil {
			return err
		}
		st.Meter = m
	}
	v := lambdarie.Values{Refs: map[string]string{"Table": st.Table, "OriginSecret": OriginSecret, "Stage": "local"},
		Vars: map[string]string{"SESAME_IMPORT_BUCKET": o.ImportBucket}}
	start := func(id string, n int) (*Pool, error) {
		env, err := lambdarie.Environment(sesame.Template, id, v)
		if err != nil {
			return nil, err
		}
		env = append(env, lambdarie.LambdaEnv(id, o.Region, o.AccessKey, o.SecretKey)...)
		dyn := o.FunctionsDynamoDB
		if dyn == "" {
			dyn = st.DynamoDB
		}
		env = append(env, "AWS_ENDPOINT_URL_S3="+st.S3)
		env = append(env, o.Env...)
		var ins []*lambdarie.Instance
		callers := map[*lambdarie.Instance]string{}
		for k := range n {
			caller, endpoint := fmt.Sprintf("%s-%d", id, k), dyn
			if st.Meter != nil {
				endpoint = st.Meter.Endpoint(caller)
			}
			in, err := lambdarie.Start(ctx, lambdarie.Options{RIE: p.rie, Qemu: p.qemu, Bootstrap: p.artifacts[id],
				Env: append(slices.Clip(env), "AWS_ENDPOINT_URL_DYNAMODB="+endpoint)})
			if err != nil {
				NewPool(ins...).Stop()
				return nil, err
			}
			ins = append(ins, in)
			callers[in] = caller
		}
		pool := NewPool(ins...)
		pool.meter, pool.callers = st.Meter, callers
		return pool, nil
	}
	for _, f := range lambdarie.Functions {
		pool, err := start(f.LogicalID, max(1, o.Instances[f.LogicalID]))
		if err != nil {
			return err
		}
		st.pools[f.LogicalID] = pool
	}
	var err error
	st.trigger, err = start("RecoverFunction", 1)
	return err
}

// startBridge sends the import bucket's events, made S3's and filtered as
// the template filters them, to the recover function with Lambda's
// asynchronous semantics: the template's retries, then the on-failure
// destination (Failures).
func (st *Stack) startBridge() error {
	tpl, err := tabledef.DecodeTemplate(sesame.Template)
	if err != nil {
		return err
	}
	retries, err := strconv.Atoi(fmt.Sprint(localtool.Dig(tpl, "Resources", "RecoverFunction", "Properties", "EventInvokeConfig", "MaximumRetryAttempts")))
	if err != nil {
		return fmt.Errorf("hostedlocal: MaximumRetryAttempts: %w", err)
	}
	filters, err := s3local.TemplateFilters(sesame.Template, "RecoverFunction", st.ImportBucket)
	if err != nil {
		return err
	}
	async := lambdarie.Async{Retries: retries, Delay: st.opts.RetryDelay, Invoke: st.trigger.Invoke, OnFailure: st.fail}
	st.bridge = &s3local.Bridge{S3: st.s3.Client(""), Filters: filters, Deliver: async.Deliver, OnUnreadable: st.fail}
	st.s3.OnEvent(st.bridge.Handle)
	return nil
}

// fail keeps an event in the on-failure destination, and logs it.
func (st *Stack) fail(event []byte, err error) {
	st.mu.Lock()
	st.failures = append(st.failures, Failure{Event: append(json.RawMessage(nil), event...), Error: err.Error()})
	st.mu.Unlock()
	st.opts.Log.Error("recover: event sent to the on-failure destination", "error", err, "event", string(event))
}

// Failures returns the events in the on-failure destination.
func (st *Stack) Failures() []Failure {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Failure(nil), st.failures...)
}

// WaitEvents waits until n import-bucket notifications in all have been
// delivered to the recover function or to the on-failure destination.
func (st *Stack) WaitEvents(ctx context.Context, n int) error { return st.bridge.WaitDelivered(ctx, n) }

// Notify hands the bridge one webhook body, as versitygw sends it (to
// deliver an event for an object that is gone, as S3 may).
func (st *Stack) Notify(body []byte) { st.bridge.Handle(body) }

// Logs returns what the functions printed (JSON lines), by logical id,
// and versitygw's output.
func (st *Stack) Logs() map[string]string {
	out := map[string]string{}
	for id, p := range st.pools {
		out[id] = p.Logs()
	}
	if st.trigger != nil {
		out["RecoverFunction (S3)"] = st.trigger.Logs()
	}
	if st.s3 != nil {
		out["versitygw"] = st.s3.Output()
	}
	return out
}

// Instances returns the instances that serve function logicalID's
// routes (a test kills one, as an execution environment dies).
func (st *Stack) Instances(logicalID string) []*lambdarie.Instance {
	if p := st.pools[logicalID]; p != nil {
		return slices.Clone(p.all)
	}
	return nil
}

// Print writes the stack's addresses, one per line, in the form scripts
// read.
func (st *Stack) Print(w io.Writer) {
	fmt.Fprintf(w, "Sésame (hébergé, local) : %s\ntable: %s\ndynamodb: %s\ns3: %s\nimport-bucket: %s\n",
		st.URL, st.Table, st.DynamoDB, st.S3, st.ImportBucket)
	if st.Meter != nil {
		fmt.Fprintf(w, "dynamodb-meter: %s\n", st.Meter.URL)
	}
}

// Stop stops the gateway, the functions, versitygw and DynamoDB Local,
// and removes the stack's files. Safe to call more than once.
func (st *Stack) Stop() {
	st.stopOnce.Do(func() {
		if st.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = st.server.Shutdown(ctx)
			cancel()
			_ = st.server.Close()
		}
		for _, p := range st.pools {
			p.Stop()
		}
		if st.trigger != nil {
			st.trigger.Stop()
		}
		if st.Meter != nil {
			_ = st.Meter.Close()
		}
		if st.s3 != nil {
			st.s3.Stop()
		}
		if st.dynamo != nil {
			st.dynamo.Stop()
		}
		if st.dir != "" {
			_ = os.RemoveAll(st.dir)
		}
	})
}

// importCORS reads the import bucket's CORS rules from the template, each
// allowing origin (the template names the distribution's domain there).
func importCORS(template map[string]any, origin string) ([]s3types.CORSRule, error) {
	res, _ := template["Resources"].(map[string]any)
	bucket, _ := res["ImportBucket"].(map[string]any)
	props, _ := bucket["Properties"].(map[string]any)
	cors, _ := props["CorsConfiguration"].(map[string]any)
	raw, _ := cors["CorsRules"].([]any)
	if len(raw) == 0 {
		return nil, errors.New("hostedlocal: the template's ImportBucket has no CORS rule")
	}
	strs := func(v any) []string {
		var out []string
		for _, x := range asList(v) {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	var rules []s3types.CORSRule
	for _, r := range raw {
		m, _ := r.(map[string]any)
		rule := s3types.CORSRule{AllowedMethods: strs(m["AllowedMethods"]), AllowedOrigins: []string{origin},
			AllowedHeaders: strs(m["AllowedHeaders"]), ExposeHeaders: strs(m["ExposedHeaders"])}
		if id, ok := m["Id"].(string); ok {
			rule.ID = aws.String(id)
		}
		if age, ok := m["MaxAge"].(float64); ok {
			rule.MaxAgeSeconds = aws.Int32(int32(age))
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// asList is v as a list ([]any), or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
