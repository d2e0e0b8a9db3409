// Package faults injects the faults a cloud really produces into the stores'
// tests, at three levels:
//
//   - [Proxy] is a TCP proxy (toxiproxy, in-process) between a client and a
//     server, with toxics switched on and off at random: latency, a reply cut
//     short after the request landed (limit_data), a connection reset
//     (reset_peer);
//   - [HTTPClient] wraps the HTTP client of an AWS SDK client and counts the
//     write requests whose reply was lost on the wire: the ambiguous writes;
//   - [DynamoDB] wraps the DynamoDB client interface of infra/dynamo and
//     answers at the protocol level: TransactionConflict and
//     ProvisionedThroughputExceeded before a write, or a lost reply after a
//     write that landed.
//
// Each draws its faults from its own seeded random source, so a failing run
// names the seed that replays its schedule of faults (the interleaving of
// goroutines is not replayed).
//
//	p, err := faults.StartProxy("127.0.0.1:8000")
//	defer p.Close()
//	stop := p.Chaos(faults.DefaultChaos, seed)
//	defer stop()
//	hc := faults.NewHTTPClient(nil)
//	client := dynamolocal.Client(p.URL(), func(o *dynamodb.Options) { o.HTTPClient = hc })
//	api := faults.NewDynamoDB(client, faults.DynamoRates{Conflict: 0.02, Throttle: 0.02, LostReply: 0.05}, seed)
//	st, err := dynamo.New(api, table)
//
// It is a test helper: nothing in the product imports it.
package faults
