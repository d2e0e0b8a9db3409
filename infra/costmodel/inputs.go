package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// Prices are unit prices in one currency, as prices.json holds them.
type Prices struct {
	Region   string             `json:"region"`
	Currency string             `json:"currency"`
	Read     string             `json:"read"` // when and how the prices were read
	Prices   map[string]float64 `json:"prices"`
	Notes    map[string]string  `json:"notes"`
}

// The keys of Prices.Prices, each required.
const (
	priceAPIGateway   = "apigateway_http_per_million"
	priceLambdaReq    = "lambda_requests_per_million"
	priceLambdaGBs    = "lambda_arm64_gb_second"
	priceDynamoWrite  = "dynamodb_write_request_units_per_million"
	priceDynamoRead   = "dynamodb_read_request_units_per_million"
	priceCloudFront   = "cloudfront_requests_per_million"
	priceCFFunctions  = "cloudfront_functions_per_million"
	priceLogsIngested = "cloudwatch_logs_ingested_per_gb"
)

var priceKeys = []string{priceAPIGateway, priceLambdaReq, priceLambdaGBs, priceDynamoWrite, priceDynamoRead, priceCloudFront, priceCFFunctions, priceLogsIngested}

// Operation is what one user-facing operation costs in requests: the file
// infra/dynamo's TestRequestsPerOperation writes with SESAME_REQUESTS_OUT
// (infra/dynamo/testdata keeps the build before issue 13's and after).
type Operation struct {
	Name     string         `json:"name"`
	Requests map[string]int `json:"requests"` // DynamoDB requests by API call
	Total    int            `json:"total"`
	WCU      float64        `json:"wcu"` // write request units DynamoDB reported
	RCU      float64        `json:"rcu"` // read request units DynamoDB reported
	Lambda   int            `json:"lambda"`
}

// Requests maps an operation's name to its counts.
type Requests map[string]Operation

// Durations give the Lambda invocation time of each operation: a warm
// call waits on its DynamoDB requests, so an operation takes MsPerRequest
// for each of its requests (at least MinMs), plus its own CPU work
// (ExtraMs: the password hash of a sign-in). They also give the memory of
// the function that serves each operation and the log bytes an invocation
// writes.
type Durations struct {
	Measured        string              `json:"measured"` // how and when
	MsPerRequest    float64             `json:"msPerRequest"`
	MinMs           float64             `json:"minMs"`
	LogBytesPerCall float64             `json:"logBytesPerInvocation"`
	Operations      map[string]Duration `json:"operations"`
}

// Duration is one operation's function.
type Duration struct {
	Function string  `json:"function"`
	MemoryMB float64 `json:"memoryMB"` // the function's MemorySize in template.yaml
	ExtraMs  float64 `json:"extraMs,omitempty"`
}

// Ms is the billed duration of an operation that sends requests DynamoDB
// requests.
func (d Durations) Ms(op string, requests int) float64 {
	return max(d.MinMs, d.MsPerRequest*float64(requests)) + d.Operations[op].ExtraMs
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadPrices reads a prices file and checks that it has every price.
func LoadPrices(path string) (Prices, error) {
	var p Prices
	if err := readJSON(path, &p); err != nil {
		return p, err
	}
	for _, k := range priceKeys {
		if v, ok := p.Prices[k]; !ok || v < 0 {
			return p, fmt.Errorf("%s: price %q missing or negative", path, k)
		}
	}
	return p, nil
}

// LoadRequests reads a requests file.
func LoadRequests(path string) (Requests, error) {
	var f struct {
		Operations []Operation `json:"operations"`
	}
	if err := readJSON(path, &f); err != nil {
		return nil, err
	}
	r := Requests{}
	for _, op := range f.Operations {
		r[op.Name] = op
	}
	return r, nil
}

// LoadDurations reads a durations file.
func LoadDurations(path string) (Durations, error) {
	var d Durations
	err := readJSON(path, &d)
	return d, err
}
