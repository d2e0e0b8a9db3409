package sesame

import (
	"context"
	"fmt"
	"time"
)

// Seat usage: per pool and per day, the peak of seats held and the
// sign-ins refused because the pool was full.

// UsageReport is the seat usage of a base over some days, with the
// licence's limits to compare it with.
type UsageReport struct {
	From, To string
	Limits   map[Pool]Limit
	Days     []UsageDay
}

// MaxUsageDays is the longest period a usage report covers.
const MaxUsageDays = 400

// Usage returns the seat usage of the caller's base from..to (YYYY-MM-DD;
// by default the last 30 days) (spr.connexions).
func (s *Service) Usage(ctx context.Context, token, from, to string) (UsageReport, error) {
	cur, err := s.requireAny(ctx, token, ActionSPRConnect)
	if err != nil {
		return UsageReport{}, err
	}
	now := s.now()
	if to == "" {
		to = Day(now)
	}
	var f time.Time
	if from != "" {
		if f, err = ParseDay("from", from); err != nil {
			return UsageReport{}, err
		}
	}
	t, err := ParseDay("to", to)
	if err != nil {
		return UsageReport{}, err
	}
	if from == "" {
		f = t.AddDate(0, 0, -29)
		from = f.Format(time.DateOnly)
	}
	if t.Before(f) {
		return UsageReport{}, Invalid("from", "La date de début doit précéder la date de fin.")
	}
	if t.Sub(f) > MaxUsageDays*24*time.Hour {
		return UsageReport{}, Invalid("from", "La période demandée dépasse %d jours.", MaxUsageDays)
	}
	days, err := s.Store.ListUsage(ctx, cur.Session.Base(), from, to)
	if err != nil {
		return UsageReport{}, fmt.Errorf("usage: %w", err)
	}
	r := UsageReport{From: from, To: to, Limits: map[Pool]Limit{}, Days: days}
	for _, p := range Pools {
		r.Limits[p] = cur.Base.License.Limit(p)
	}
	return r, nil
}
