package dynamo_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/faults"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// TestSeatRaces checks the seat races for linearizability, without faults.
func TestSeatRaces(t *testing.T) {
	st, _, _ := open(t)
	cfg := storetest.DefaultRaces
	cfg.Seed = faults.Seed(t)
	storetest.RunSeatRaces(t, storetest.FaultyStore{Store: st}, cfg)
}

// faultRates are the protocol-level faults of each write: conflicts and
// throttling answered before it, and lost replies after it landed.
var faultRates = faults.DynamoRates{Conflict: 0.03, Throttle: 0.03, LostReply: 0.25}

// TestSeatRacesUnderFaults runs the races through a proxy that cuts
// replies, resets connections and adds latency, and a client that answers
// conflicts, throttling and lost replies; it checks the invariants and the
// history, and counts the ambiguous writes injected.
func TestSeatRacesUnderFaults(t *testing.T) {
	client, table := dynamolocal.NewTable(t)
	u, err := url.Parse(dynamolocal.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faults.StartProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	seed := faults.Seed(t)
	hc := faults.NewHTTPClient(nil)
	api := faults.NewDynamoDB(dynamolocal.Client(proxy.URL(), func(o *dynamodb.Options) { o.HTTPClient = hc }), faultRates, seed)
	faulty, err := dynamo.New(api, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		t.Fatal(err)
	}
	clean, err := dynamo.New(client, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		t.Fatal(err)
	}
	stopChaos := proxy.Chaos(faults.DefaultChaos, seed)
	t.Cleanup(stopChaos)
	cfg := storetest.DefaultRaces
	cfg.Seed, cfg.Ops = seed, 70
	rep := storetest.RunSeatRaces(t, storetest.FaultyStore{Store: faulty, Clean: clean,
		Quiet: func(off bool) {
			if off {
				stopChaos()
				api.Pause()
			} else {
				api.Resume()
			}
		},
		Injected: func() (int64, string) {
			c := api.Counts()
			sent, lost := hc.Writes()
			return c.Ambiguous() + lost, fmt.Sprintf("client: %d landed and %d refused writes lost their reply, %d conflicts, %d throttles; wire: %d of %d writes lost their reply; proxy toxics %v",
				c.LostLanded, c.LostRefused, c.Conflicts, c.Throttles, lost, sent, proxy.Switched())
		}}, cfg)
	// The target of a run: at least 1,000 ambiguous writes (about 1,500
	// are drawn at these rates), every one resolved.
	if rep.Ambiguous < 1000 {
		t.Fatalf("only %d ambiguous writes injected, want at least 1,000", rep.Ambiguous)
	}
}

func TestClockSkew(t *testing.T) {
	st, _, _ := open(t)
	storetest.RunClockSkew(t, st)
}
