package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

// Round prices, so that each figure below can be checked by hand.
var roundPrices = Prices{Prices: map[string]float64{
	priceAPIGateway: 1, priceLambdaReq: 0.2, priceLambdaGBs: 0.00001,
	priceDynamoWrite: 1, priceDynamoRead: 0.25,
	priceCloudFront: 1, priceCFFunctions: 0.1, priceLogsIngested: 0.5,
}}

func TestOperationCost(t *testing.T) {
	m := Model{
		Prices: roundPrices,
		Requests: Requests{
			"heartbeat_active": {Requests: map[string]int{"GetItem": 5, "UpdateItem": 2}, Total: 7, WCU: 3, RCU: 5, Lambda: 1},
			// DynamoDB Local reports 0 units for Queries that find nothing.
			"signin_unlimited": {Requests: map[string]int{"Query": 2, "TransactWriteItems": 1}, Total: 3, WCU: 6, RCU: 0, Lambda: 1},
		},
		Durations: Durations{MsPerRequest: 10, MinMs: 10, LogBytesPerCall: 1 << 20, Operations: map[string]Duration{
			"heartbeat_active": {MemoryMB: 256},
			"signin_unlimited": {MemoryMB: 1024, ExtraMs: 70},
		}},
	}
	t.Run("Heartbeat", func(t *testing.T) {
		c, err := m.OperationCost("heartbeat_active")
		if err != nil {
			t.Fatal(err)
		}
		near(t, "API Gateway", c.APIGateway, 1e-6)
		// 0.2 per million requests; 7 requests × 10 ms = 0.07 s at 0.25 GB = 0.0175 GB-s × 0.00001.
		near(t, "Lambda", c.Lambda, 0.2e-6+0.175e-6)
		// 3 write units × 1 per million, 5 read units × 0.25 per million.
		near(t, "DynamoDB", c.DynamoDB, 3e-6+1.25e-6)
		near(t, "CloudFront", c.CloudFront, 1.1e-6)
		// 1 MiB is 1/1024 GiB, at 0.5 per GiB.
		near(t, "Logs", c.Logs, 0.00048828125)
	})
	t.Run("SigninFloorsReadsAtOneUnitPerRequest", func(t *testing.T) {
		c, err := m.OperationCost("signin_unlimited")
		if err != nil {
			t.Fatal(err)
		}
		// 2 Queries billed 1 unit each: 0.5e-6; 6 write units: 6e-6.
		near(t, "DynamoDB", c.DynamoDB, 6.5e-6)
		// max(10, 3 × 10) + 70 = 100 ms at 1 GB = 0.1 GB-s.
		near(t, "Lambda", c.Lambda, 0.2e-6+1e-6)
	})
	t.Run("UnknownOperation", func(t *testing.T) {
		if _, err := m.OperationCost("logout"); err == nil || !strings.Contains(err.Error(), "logout") {
			t.Errorf("err = %v, want one naming logout", err)
		}
	})
}

// unitModel costs 1 per write unit and nothing else, and every operation
// one write unit but the ones named: a cost is then a count of units.
func unitModel(units map[string]float64) Model {
	r, d := Requests{}, map[string]Duration{}
	for _, name := range []string{"signin_limited", "signin_unlimited", "page_load", "heartbeat_active", "heartbeat_idle",
		"heartbeat_seatless", "authorize", "permissions", "logout"} {
		w := 1.0
		if u, ok := units[name]; ok {
			w = u
		}
		r[name] = Operation{Name: name, WCU: w, Lambda: 1}
		d[name] = Duration{MemoryMB: 128}
	}
	return Model{Prices: Prices{Prices: map[string]float64{priceDynamoWrite: 1e6}}, Requests: r,
		Durations: Durations{Operations: d}}
}

var unitUsage = Usage{HoursPerDay: 2, SchoolDays: 10, Connecting: 0.5, Active: 0.5, SigninsPerDay: 1, LogoutShare: 0.5,
	PagesPerHour: 3, AuthorizePerActiveHour: 10, PermissionsPerHour: 1,
	SeatHeartbeats: Rates{Active: 60, Idle: 60}, SeatlessHeartbeats: Rates{Active: 60, Idle: 20}}

func TestSchoolYear(t *testing.T) {
	m := unitModel(map[string]float64{"heartbeat_seatless": 2, "heartbeat_active": 2, "signin_limited": 4})
	y, err := m.SchoolYear(unitUsage, []Kind{{"élèves", 100, false}, {"professeurs", 10, true}})
	if err != nil {
		t.Fatal(err)
	}
	// 100 users × 0.5 connecting × 2 h × 10 days = 1,000 hours; 10 teachers: 100 hours.
	near(t, "hours", y.Hours, 1100)
	// A student's hour: sign-in 1/2, pages 3, authorize 0.5 × 10 = 5, permissions 1,
	// logout 0.5 × 0.5 = 0.25, heartbeats 0.5 × 60 + 0.5 × 20 = 40 at 2 units:
	// 0.5 + 3 + 5 + 1 + 0.25 + 80 = 89.75 units, 49.75 requests.
	near(t, "students' cost", y.Kinds[0].Cost.DynamoDB, 89750)
	near(t, "students' requests", y.Kinds[0].Requests, 49750)
	// A teacher's hour: sign-in 0.5 × 4 = 2, 30 active heartbeats at 2 units, 30 idle at 1,
	// then 3 + 5 + 1 + 0.25: 101.25 units; 100 hours.
	near(t, "teachers' cost", y.Kinds[1].Cost.DynamoDB, 10125)
	near(t, "total", y.Total.Total(), 99875)
	near(t, "per 1,000 hours", y.PerThousandHours().Total(), 99875.0/1.1)
	near(t, "other services", y.Total.APIGateway+y.Total.Lambda+y.Total.CloudFront+y.Total.Logs, 0)
	// Heartbeats: students 40 an hour at 2 units over 1,000 hours; teachers
	// 30 active at 2 units over 100 hours.
	near(t, "seat-less heartbeats", y.Operations["heartbeat_seatless"].DynamoDB, 80000)
	near(t, "active heartbeats", y.Operations["heartbeat_active"].DynamoDB, 6000)
	var sum float64
	for _, c := range y.Operations {
		sum += c.Total()
	}
	near(t, "sum over operations", sum, 99875)
}

func TestFewerHeartbeatsCostLess(t *testing.T) {
	m := unitModel(nil)
	kinds := []Kind{{"parents", 1000, false}}
	before, err := m.SchoolYear(unitUsage, kinds)
	if err != nil {
		t.Fatal(err)
	}
	u := unitUsage
	u.SeatlessHeartbeats = Rates{Active: 6, Idle: 2}
	after, err := m.SchoolYear(u, kinds)
	if err != nil {
		t.Fatal(err)
	}
	// Per hour: 0.5 + 3 + 5 + 1 + 0.25 = 9.75 besides heartbeats; 40 before, 4 after.
	near(t, "ratio", before.Total.Total()/after.Total.Total(), 49.75/13.75)
}

func TestRun(t *testing.T) {
	t.Run("CommittedFiles", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"-after", filepath.Join("..", "dynamo", "testdata", "requests-before.json")}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		for _, want := range []string{"list prices as known", "établissement/an", "pour 1 000 heures connectées", "professeurs (50)/an", "Rapport avant ÷ après"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("BadFlag", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"-active", "2"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "active") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	})
	t.Run("MissingOperation", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "r.json")
		if err := os.WriteFile(f, []byte(`{"operations":[{"name":"page_load","total":1,"lambda":1}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if code := run([]string{"-before", f}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not in the requests file") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	})
	t.Run("MissingPrice", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "p.json")
		if err := os.WriteFile(f, []byte(`{"prices":{"apigateway_http_per_million":1}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if code := run([]string{"-prices", f}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "lambda_requests_per_million") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	})
}
