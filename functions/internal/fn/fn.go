// Package fn wires one Lambda function of the hosted deployment, so that
// each functions/<name>/main.go is a single call. It reads the
// configuration once from the environment, opens the DynamoDB table, builds
// the service and the HTTP API of the function's routes alone
// (httpapi.NewFunction: its binary links no other route's code), and serves API Gateway HTTP API events
// (payload 2.0) through aws-lambda-go-api-proxy's httpadapter. No rule
// lives here: everything a request decides is in the service and the API.
//
// The recover function takes two kinds of events: its HTTP routes, and the
// S3 notifications of the import bucket; package recoverfn wires it on top
// of this one, so that only its binary links the S3 client.
//
//	func main() {
//		if err := fn.Run(context.Background(), httpapi.Login, os.Getenv, os.Stdout); err != nil {
//			fmt.Fprintln(os.Stderr, "login:", err)
//			os.Exit(1)
//		}
//	}
package fn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// The environment a function reads.
const (
	// EnvTable names the DynamoDB table (required).
	EnvTable = "SESAME_TABLE"
	// EnvOriginSecret is the secret CloudFront sends in X-Origin-Secret
	// (required: without it the API endpoint could be called directly,
	// bypassing CloudFront and its viewer address).
	EnvOriginSecret = "SESAME_ORIGIN_SECRET"
	// EnvHeartbeat, EnvLease, EnvAbsolute, EnvWarning and EnvReport
	// override the durations of sesame.DefaultTiming (Go durations: "60s",
	// "12h"). EnvReport is how often a session without a seat reports.
	EnvHeartbeat = "SESAME_HEARTBEAT"
	EnvLease     = "SESAME_LEASE"
	EnvAbsolute  = "SESAME_ABSOLUTE"
	EnvWarning   = "SESAME_WARNING"
	EnvReport    = "SESAME_REPORT"
	// EnvLogLevel is set by Lambda from the function's LoggingConfig
	// (DEBUG, INFO, WARN, ERROR); INFO when empty.
	EnvLogLevel = "AWS_LAMBDA_LOG_LEVEL"
	// EnvImportBucket names the import bucket (the recover function only):
	// uploads/ holds browsers' files, imports/ IT staff's, reports/ the
	// reports.
	EnvImportBucket = "SESAME_IMPORT_BUCKET"
	// EnvJournalRetention is how many days journal entries are kept (1 to
	// 1098; sesame.DefaultJournalRetention, 183 days, when unset): the
	// template's JournalRetentionDays parameter.
	EnvJournalRetention = core.EnvJournalRetention
)

// AddressHeader carries the viewer's address: CloudFront adds it, and the
// distribution's origin request policy forwards it to the API.
const AddressHeader = "CloudFront-Viewer-Address"

// Config is what a function reads from its environment, once, at start.
type Config struct {
	Function     httpapi.Function // httpapi.Login, Seats, Authorize, Recover or Admin
	Table        string
	OriginSecret string
	Timing       sesame.Timing
	// Retention is how long journal entries are kept (Service.Retention).
	Retention    time.Duration
	LogLevel     slog.Level
	ImportBucket string
}

// LoadConfig reads function's configuration through getenv.
func LoadConfig(function httpapi.Function, getenv func(string) string) (Config, error) {
	c := Config{Function: function, Table: getenv(EnvTable), OriginSecret: getenv(EnvOriginSecret), Timing: sesame.DefaultTiming,
		ImportBucket: getenv(EnvImportBucket)}
	if c.Table == "" {
		return Config{}, fmt.Errorf("%s is not set", EnvTable)
	}
	if c.OriginSecret == "" {
		return Config{}, fmt.Errorf("%s is not set", EnvOriginSecret)
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{EnvHeartbeat, &c.Timing.Heartbeat}, {EnvLease, &c.Timing.Lease}, {EnvAbsolute, &c.Timing.Absolute}, {EnvWarning, &c.Timing.Warning},
		{EnvReport, &c.Timing.Report}} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", d.name, err)
		}
		*d.to = dur
	}
	if err := c.Timing.Validate(); err != nil {
		return Config{}, fmt.Errorf("timing: %w", err)
	}
	retention, err := core.JournalRetention(getenv)
	if err != nil {
		return Config{}, err
	}
	c.Retention = retention
	switch lvl := strings.ToUpper(getenv(EnvLogLevel)); lvl {
	case "", "INFO":
		c.LogLevel = slog.LevelInfo
	case "DEBUG":
		c.LogLevel = slog.LevelDebug
	case "WARN":
		c.LogLevel = slog.LevelWarn
	case "ERROR", "FATAL":
		c.LogLevel = slog.LevelError
	case "TRACE":
		c.LogLevel = slog.LevelDebug - 4
	default:
		return Config{}, fmt.Errorf("%s: unknown level %q", EnvLogLevel, lvl)
	}
	return c, nil
}

// Logger writes one JSON object a line to w, with the field names of
// Lambda's JSON log format (timestamp, level, message) and the function's
// name.
func (c Config) Logger(w io.Writer) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.LogLevel, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(h).With("function", c.Function.Name)
}

// HandlerFunc is a function's Lambda handler.
type HandlerFunc = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler serves API Gateway HTTP API (payload 2.0) events with the API
// of cfg.Function's routes, behind CloudFront: the client's
// address comes from CloudFront-Viewer-Address, calls without the origin
// secret are refused, and cookies are always Secure.
func Handler(cfg Config, svc *sesame.Service, up sesame.Uploads, log *slog.Logger) HandlerFunc {
	api := httpapi.NewFunction(httpapi.Config{
		Uploads:       up,
		Service:       svc,
		Logger:        log,
		AddressHeader: AddressHeader,
		OriginSecret:  cfg.OriginSecret,
		Secure:        true,
	}, cfg.Function)
	adapter := httpadapter.NewV2(api)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// The API's log line carries API Gateway's request id, the one
		// its access logs and the client's apigw-requestid header show.
		if id := ev.RequestContext.RequestID; id != "" {
			ev.Headers = maps.Clone(ev.Headers)
			if ev.Headers == nil {
				ev.Headers = map[string]string{}
			}
			ev.Headers["apigw-requestid"] = id
		}
		return adapter.ProxyWithContext(ctx, ev)
	}
}

// New reads the configuration through getenv, opens the table (with
// o.DynamoDB when set, otherwise with the AWS configuration of the
// environment), and returns the function's handler, logging to stdout.
func New(ctx context.Context, function httpapi.Function, getenv func(string) string, stdout io.Writer, o core.StoreOptions) (HandlerFunc, error) {
	p, err := Build(ctx, function, getenv, stdout, o)
	if err != nil {
		return nil, err
	}
	return Handler(p.Config, p.Service, nil, p.Log), nil
}

// Parts are what a function is built from.
type Parts struct {
	Config  Config
	Service *sesame.Service
	Log     *slog.Logger
}

// Build reads the configuration and opens the table. The recover
// function adds its import bucket (package recoverfn): the others link no
// S3 client.
func Build(ctx context.Context, function httpapi.Function, getenv func(string) string, stdout io.Writer, o core.StoreOptions) (Parts, error) {
	cfg, err := LoadConfig(function, getenv)
	if err != nil {
		return Parts{}, err
	}
	// The stack owns the table: it is opened, never created.
	client := o.DynamoDB
	if client == nil {
		ep, err := dynamoEndpoint(getenv)
		if err != nil {
			return Parts{}, err
		}
		client = dynamodb.NewFromConfig(AWSConfig(getenv), func(o *dynamodb.Options) { o.EndpointResolverV2 = ep })
	}
	st, err := core.OpenDynamo(ctx, client, cfg.Table, "")
	if err != nil {
		return Parts{}, err
	}
	log := cfg.Logger(stdout)
	return Parts{Config: cfg, Service: core.NewServiceFor(st, cfg.Timing, cfg.Retention, log), Log: log}, nil
}

// AWSConfig is the AWS configuration a function has in Lambda: its
// region and its execution role's credentials, from the environment
// Lambda sets. config.LoadDefaultConfig would read profiles, SSO and web
// identity as well, which a function never uses, and link their clients
// (STS, SSO, SSO OIDC, sign-in) into every binary.
func AWSConfig(getenv func(string) string) aws.Config {
	return aws.Config{
		Region: getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))),
	}
}

// Endpoint is the endpoint the environment sets for service (DYNAMODB,
// S3): AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, as the SDK's
// own configuration reads them; nil when neither is set (AWS's).
func Endpoint(getenv func(string) string, service string) *string {
	for _, name := range []string{"AWS_ENDPOINT_URL_" + service, "AWS_ENDPOINT_URL"} {
		if v := getenv(name); v != "" {
			return &v
		}
	}
	return nil
}

// fixedEndpoint is DynamoDB's endpoint, resolved once at start: the
// SDK's endpoint rules would be evaluated again for every request (a
// visible part of a warm invocation under the emulator).
type fixedEndpoint struct{ uri url.URL }

func (e fixedEndpoint) ResolveEndpoint(context.Context, dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: e.uri}, nil
}

// dynamoEndpoint is the endpoint the environment sets for DynamoDB
// (Endpoint), else the region's: https://dynamodb.<region>.amazonaws.com.
func dynamoEndpoint(getenv func(string) string) (fixedEndpoint, error) {
	raw := "https://dynamodb." + getenv("AWS_REGION") + ".amazonaws.com"
	if strings.HasPrefix(getenv("AWS_REGION"), "cn-") {
		raw += ".cn"
	}
	if e := Endpoint(getenv, "DYNAMODB"); e != nil {
		raw = *e
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fixedEndpoint{}, fmt.Errorf("DynamoDB endpoint %q is not an http(s) URL", raw)
	}
	return fixedEndpoint{uri: *u}, nil
}

// Run builds the function and serves Lambda invocations until the runtime
// stops the process. It returns only when the configuration is wrong; a
// table that cannot be reached at start is tried again at each invocation
// (Lazy).
func Run(ctx context.Context, function httpapi.Function, getenv func(string) string, stdout io.Writer) error {
	cfg, err := LoadConfig(function, getenv)
	if err != nil {
		return fmt.Errorf("%s: %w", function.Name, err)
	}
	h := Lazy(ctx, cfg.Logger(stdout), func(ctx context.Context) (RawHandler, error) {
		h, err := New(ctx, function, getenv, stdout, core.StoreOptions{})
		if err != nil {
			return nil, err
		}
		return Raw(h), nil
	})
	Start(ctx, h)
	return nil
}
