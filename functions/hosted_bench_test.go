package functions_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// The budgets of the functions under RIE, measured side by side with the
// minimal aws-lambda-go function built the same way (lambdarie.BuildHello),
// iterations interleaved so that both see the same machine. The measured
// function is SeatsFunction answering session.json (GET /api/v1/session,
// an unknown session: one DynamoDB read, then 401).
//
//	go test -run '^$' -bench Hosted -benchtime 5x ./functions/
//
// BenchmarkHostedColdStart: from starting RIE to the first answer.
// Reports hello-ms, seats-ms and ratio (budget: ≤ 1.5), the same of the
// medians (hello-median-ms, seats-median-ms, median-ratio), and hellosdk-ms
// and sdk-ratio: hello with the DynamoDB client linked but never used
// (lambdarie's testdata/hellosdk), what the SDK's package initialisation
// alone costs.
func BenchmarkHostedColdStart(b *testing.B) {
	hello, seats, starter := hostedPair(b)
	sdkBoot, err := lambdarie.BuildTestFunction(b.Context(), b.TempDir(), "hellosdk")
	if err != nil {
		b.Fatal(err)
	}
	helloSDK := starter(lambdarie.Options{Bootstrap: sdkBoot})
	var th, tk, ts []time.Duration
	for b.Loop() {
		th = append(th, coldStart(b, hello, []byte(`{"name":"x"}`)))
		tk = append(tk, coldStart(b, helloSDK, []byte(`{"name":"x"}`)))
		ts = append(ts, coldStart(b, seats.start, seats.event))
	}
	report(b, sum(th), sum(ts), 0)
	b.ReportMetric(float64(sum(tk).Microseconds())/1000/float64(b.N), "hellosdk-ms")
	b.ReportMetric(float64(sum(tk))/float64(sum(th)), "sdk-ratio")
	// The median start of each, and their ratio: a pause of the machine or
	// of DynamoDB Local's JVM during one start weighs on the means above,
	// not on these.
	mh, ms := median(th), median(ts)
	b.ReportMetric(float64(mh.Microseconds())/1000, "hello-median-ms")
	b.ReportMetric(float64(ms.Microseconds())/1000, "seats-median-ms")
	b.ReportMetric(float64(ms)/float64(mh), "median-ratio")
}

func sum(ds []time.Duration) (t time.Duration) {
	for _, d := range ds {
		t += d
	}
	return t
}

// median is the middle of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

// BenchmarkHostedWarmInvoke: one invocation of a started function. Reports
// hello-ms, seats-ms, inprocess-ms (the same handler called in this
// process, over the same table) and ratio = seats / (in-process + hello)
// (budget: ≤ 1.5).
func BenchmarkHostedWarmInvoke(b *testing.B) {
	helloStart, seats, _ := hostedPair(b)
	hello, f := helloStart(), seats.start()
	defer hello.Stop()
	defer f.Stop()
	h, err := fn.New(b.Context(), httpapi.Seats, func(k string) string { return seats.env[k] }, discard{}, app.StoreOptions{DynamoDB: dynamolocal.Client(dynamolocal.Endpoint(b))})
	if err != nil {
		b.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(seats.event, &ev); err != nil {
		b.Fatal(err)
	}
	invoke := func(in *lambdarie.Instance, ev []byte) time.Duration {
		t0 := time.Now()
		if _, err := in.Invoke(b.Context(), ev); err != nil {
			b.Fatalf("%v\n%s", err, in.Logs())
		}
		return time.Since(t0)
	}
	invoke(hello, []byte(`{"name":"x"}`)) // the cold start, not measured
	invoke(f, seats.event)
	var th, ts, tp time.Duration
	for b.Loop() {
		th += invoke(hello, []byte(`{"name":"x"}`))
		ts += invoke(f, seats.event)
		t0 := time.Now()
		if res, err := h(context.Background(), ev); err != nil || res.StatusCode != 401 {
			b.Fatalf("in process: %d %v", res.StatusCode, err)
		}
		tp += time.Since(t0)
	}
	report(b, th, ts, tp)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func report(b *testing.B, hello, seats, inProcess time.Duration) {
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(hello), "hello-ms")
	b.ReportMetric(ms(seats), "seats-ms")
	if inProcess > 0 {
		b.ReportMetric(ms(inProcess), "inprocess-ms")
	}
	b.ReportMetric(float64(seats)/float64(hello+inProcess), "ratio")
}

// seatsUnderRIE starts the seats function on a table, and knows its event
// and environment (for the in-process handler).
type seatsUnderRIE struct {
	start func() *lambdarie.Instance
	event []byte
	env   map[string]string
}

// hostedPair builds the hello function and prepares the seats function;
// starter makes a start function of options (RIE and qemu filled in).
func hostedPair(b *testing.B) (hello func() *lambdarie.Instance, seats seatsUnderRIE, starter func(lambdarie.Options) func() *lambdarie.Instance) {
	b.Helper()
	rie, err := lambdarie.InstallEmulator(b.Context())
	testenv.Require(b, "Lambda RIE", err)
	qemu, err := lambdarie.Qemu()
	testenv.Require(b, "qemu-user", err)
	starter = func(o lambdarie.Options) func() *lambdarie.Instance {
		o.RIE, o.Qemu = rie, qemu
		return func() *lambdarie.Instance {
			in, err := lambdarie.Start(b.Context(), o)
			if err != nil {
				b.Fatal(err)
			}
			return in
		}
	}
	helloBoot, err := lambdarie.BuildHello(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	_, table := dynamolocal.NewTable(b)
	event, err := json.Marshal(loadEvent(b, "session"))
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{fn.EnvTable: table, fn.EnvOriginSecret: secret}
	// The options are resolved once: each start then times RIE and the
	// function alone, as hello's does.
	start := starter(functionOptions(b, "SeatsFunction", table, lambdarie.Values{}))
	return starter(lambdarie.Options{Bootstrap: helloBoot}), seatsUnderRIE{start: start, event: event, env: env}, starter
}

// coldStart starts an instance, invokes it once and stops it: the time
// from start to the first answer.
func coldStart(b *testing.B, start func() *lambdarie.Instance, ev []byte) time.Duration {
	t0 := time.Now()
	in := start()
	if _, err := in.Invoke(b.Context(), ev); err != nil {
		b.Fatalf("%v\n%s", err, in.Logs())
	}
	d := time.Since(t0)
	in.Stop()
	return d
}
