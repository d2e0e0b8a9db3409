package main

import (
	"fmt"
	"math"
	"strings"
)

// Kind is a kind of session: who, how many, and whether its sessions
// hold a seat in a limited pool (and so heartbeat at the seat's rhythm).
type Kind struct {
	Name  string
	Users int
	Seat  bool
}

// Rates are heartbeats per connected hour, while the user is active and
// while the page stays open with the user away.
type Rates struct{ Active, Idle float64 }

// Usage is how a school uses the product: the same for every kind except
// the heartbeats, which depend on whether the session holds a seat.
type Usage struct {
	HoursPerDay            float64 // connected hours per school day, per user who connects
	SchoolDays             float64 // school days per year
	Connecting             float64 // share of each kind's users who connect on a school day
	Active                 float64 // share of connected time the user is active
	SigninsPerDay          float64 // sign-ins per school day, per user who connects
	LogoutShare            float64 // share of sessions ended by logout (the rest end at a heartbeat)
	PagesPerHour           float64 // page loads (GET /session) per connected hour
	AuthorizePerActiveHour float64 // authorize checks per active hour
	PermissionsPerHour     float64 // GET /permissions per connected hour
	SeatHeartbeats         Rates   // a session that holds a seat
	SeatlessHeartbeats     Rates   // a session in an unlimited pool, consultation, the SPR
}

// Cost is money by service, in the prices' currency.
type Cost struct {
	APIGateway, Lambda, DynamoDB, CloudFront, Logs float64
}

// Services names Cost's fields, in order, for printing.
var Services = []string{"API Gateway", "Lambda", "DynamoDB", "CloudFront", "CloudWatch Logs"}

// By returns the costs in the order of Services.
func (c Cost) By() []float64 {
	return []float64{c.APIGateway, c.Lambda, c.DynamoDB, c.CloudFront, c.Logs}
}

// Total is the sum over the services.
func (c Cost) Total() float64 {
	return c.APIGateway + c.Lambda + c.DynamoDB + c.CloudFront + c.Logs
}

func (c Cost) plus(d Cost) Cost {
	return Cost{c.APIGateway + d.APIGateway, c.Lambda + d.Lambda, c.DynamoDB + d.DynamoDB, c.CloudFront + d.CloudFront, c.Logs + d.Logs}
}

func (c Cost) times(f float64) Cost {
	return Cost{c.APIGateway * f, c.Lambda * f, c.DynamoDB * f, c.CloudFront * f, c.Logs * f}
}

// Model prices operations from their measured counts and durations.
type Model struct {
	Prices    Prices
	Requests  Requests
	Durations Durations
}

// readCalls are the DynamoDB calls billed in read units; the others are
// billed in write units.
var readCalls = map[string]bool{"GetItem": true, "BatchGetItem": true, "Query": true, "Scan": true, "TransactGetItems": true}

// OperationCost is what one operation costs. DynamoDB is billed on the
// units the requests file reports, but at least one unit per request:
// DynamoDB Local reports 0 for a Query that finds nothing, where DynamoDB
// bills at least one read unit (half of one if eventually consistent).
func (m Model) OperationCost(name string) (Cost, error) {
	op, ok := m.Requests[name]
	if !ok {
		return Cost{}, fmt.Errorf("operation %q: not in the requests file", name)
	}
	d, ok := m.Durations.Operations[name]
	if op.Lambda > 0 && !ok {
		return Cost{}, fmt.Errorf("operation %q: no Lambda duration", name)
	}
	var reads, writes int
	for call, n := range op.Requests {
		if readCalls[call] {
			reads += n
		} else {
			writes += n
		}
	}
	p := m.Prices.Prices
	calls := float64(op.Lambda)
	gbSeconds := m.Durations.Ms(name, op.Total) / 1000 * d.MemoryMB / 1024
	return Cost{
		APIGateway: calls * p[priceAPIGateway] / 1e6,
		Lambda:     calls * (p[priceLambdaReq]/1e6 + gbSeconds*p[priceLambdaGBs]),
		DynamoDB: math.Max(op.WCU, float64(writes))*p[priceDynamoWrite]/1e6 +
			math.Max(op.RCU, float64(reads))*p[priceDynamoRead]/1e6,
		CloudFront: calls * (p[priceCloudFront] + p[priceCFFunctions]) / 1e6,
		Logs:       calls * m.Durations.LogBytesPerCall / (1 << 30) * p[priceLogsIngested],
	}, nil
}

// PerHour is the operations one connected hour of a kind makes, by name.
func (u Usage) PerHour(k Kind) map[string]float64 {
	signins := u.SigninsPerDay / u.HoursPerDay
	ops := map[string]float64{
		"page_load":   u.PagesPerHour,
		"authorize":   u.Active * u.AuthorizePerActiveHour,
		"permissions": u.PermissionsPerHour,
		"logout":      u.LogoutShare * signins,
	}
	if k.Seat {
		ops["signin_limited"] = signins
		ops["heartbeat_active"] = u.Active * u.SeatHeartbeats.Active
		ops["heartbeat_idle"] = (1 - u.Active) * u.SeatHeartbeats.Idle
	} else {
		ops["signin_unlimited"] = signins
		ops["heartbeat_seatless"] = u.Active*u.SeatlessHeartbeats.Active + (1-u.Active)*u.SeatlessHeartbeats.Idle
	}
	return ops
}

// HoursPerYear is the connected user-hours of a kind in a school year.
func (u Usage) HoursPerYear(k Kind) float64 {
	return float64(k.Users) * u.Connecting * u.HoursPerDay * u.SchoolDays
}

// HourCost is what one connected hour of a kind costs.
func (m Model) HourCost(u Usage, k Kind) (Cost, error) {
	var c Cost
	for name, n := range u.PerHour(k) {
		oc, err := m.OperationCost(name)
		if err != nil {
			return Cost{}, fmt.Errorf("%s: %w", k.Name, err)
		}
		c = c.plus(oc.times(n))
	}
	return c, nil
}

// Year is a school's cost over a school year, by kind.
type Year struct {
	Kinds []KindYear
	Total Cost
	Hours float64 // connected user-hours
	// Operations is the year's cost by operation, over every kind.
	Operations map[string]Cost
}

// KindYear is one kind's share of the year.
type KindYear struct {
	Kind
	Hours    float64 // connected user-hours
	Requests float64 // HTTP API requests
	Cost     Cost
}

// SchoolYear prices a school's year.
func (m Model) SchoolYear(u Usage, kinds []Kind) (Year, error) {
	y := Year{Operations: map[string]Cost{}}
	for _, k := range kinds {
		hc, err := m.HourCost(u, k)
		if err != nil {
			return y, err
		}
		h := u.HoursPerYear(k)
		var req float64
		for name, n := range u.PerHour(k) {
			req += n * float64(m.Requests[name].Lambda)
			oc, _ := m.OperationCost(name) // HourCost found every one
			y.Operations[name] = y.Operations[name].plus(oc.times(n * h))
		}
		ky := KindYear{Kind: k, Hours: h, Requests: req * h, Cost: hc.times(h)}
		y.Kinds = append(y.Kinds, ky)
		y.Total = y.Total.plus(ky.Cost)
		y.Hours += h
	}
	return y, nil
}

// PerThousandHours is the cost of 1,000 connected user-hours in this
// school's mix of kinds.
func (y Year) PerThousandHours() Cost {
	if y.Hours == 0 {
		return Cost{}
	}
	return y.Total.times(1000 / y.Hours)
}

// Validate refuses usage figures that make no sense.
func (u Usage) Validate() error {
	var bad []string
	check := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			bad = append(bad, fmt.Sprintf("%s=%g (entre %g et %g)", name, v, lo, hi))
		}
	}
	check("hours", u.HoursPerDay, 0.01, 24)
	check("days", u.SchoolDays, 0, 366)
	check("connecting", u.Connecting, 0, 1)
	check("active", u.Active, 0, 1)
	check("logout-share", u.LogoutShare, 0, 1)
	for name, v := range map[string]float64{"signins": u.SigninsPerDay, "pages": u.PagesPerHour, "authorize": u.AuthorizePerActiveHour,
		"permissions": u.PermissionsPerHour, "hb-seat-active": u.SeatHeartbeats.Active, "hb-seat-idle": u.SeatHeartbeats.Idle,
		"hb-seatless-active": u.SeatlessHeartbeats.Active, "hb-seatless-idle": u.SeatlessHeartbeats.Idle} {
		check(name, v, 0, 1e6)
	}
	if bad != nil {
		return fmt.Errorf("valeurs invalides : %s", strings.Join(bad, ", "))
	}
	return nil
}
