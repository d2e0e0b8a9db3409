package loadtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/loadtest"
)

// rentreeServer starts the product over a bbolt file with a school of
// teacherSeats teacher seats and adminSeats admin seats, and the accounts
// of cohorts.
func rentreeServer(t *testing.T, teacherSeats, adminSeats int, cohorts []loadtest.RentreeCohort) string {
	t.Helper()
	ctx := context.Background()
	svc, _ := newService(t)
	svc.Hashing = sesame.NewHashGate(0, time.Minute)
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège de la rentrée", Year: year,
		AdminSeats: sesame.Limit(adminSeats), TeacherSeats: sesame.Limit(teacherSeats), SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]sesame.Kind{"student": sesame.KindStudent, "parent": sesame.KindParent, "teacher": sesame.KindTeacher, "admin": sesame.KindStaff}
	for _, co := range cohorts {
		for i := range co.Users {
			u := sesame.NewUser{UAI: uai, Year: year, Login: loadtest.Account(co.Prefix, 1, i), Kind: string(kinds[co.Mode]),
				DisplayName: "Compte de rentrée", Password: pw}
			if co.Mode == "admin" {
				u.AdminGroup = "Modification"
			}
			if _, err := svc.AddUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	return listen(t, svc)
}

// A rentrée morning scaled down: 10 students and parents, 5 teachers for 3
// seats and 3 administrative users for 2, signing in within 300 ms, then
// 40 simulated minutes of browsing 300 times faster (8 s), a third of
// each kind walking away. The seats are never over their limits, during
// the run or at its end, the refused teachers get in once idle ones are
// disconnected, and the agent's rhythm gives about 60 heartbeats per
// connected hour to seat holders and about 6 to students and parents,
// whose sessions take no seat.
func TestRentreeScaledDown(t *testing.T) {
	cohorts := loadtest.RentreeCohorts(6, 4, 5, 3)
	url := rentreeServer(t, 3, 2, cohorts)
	rep, err := loadtest.Rentree(context.Background(), loadtest.RentreeConfig{URL: url + "/", UAI: uai, Year: year,
		Password: pw, SPRLogin: "spr", SPRPassword: pw, Cohorts: cohorts, Window: 300 * time.Millisecond, Drain: time.Millisecond,
		Browse: 40 * time.Minute, Speed: 300, IdleShare: 0.34, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if !rep.OK() {
		t.Errorf("%d seat-invariant violations: %v", rep.ViolationCount, rep.Violations)
	}
	if !rep.FinalChecked {
		t.Fatal("the supervisor never read the pools at the end")
	}
	final := map[string]loadtest.PoolStats{}
	for _, p := range rep.Final {
		final[p.Pool] = p
	}
	if final["teacher"].Limit != 3 || final["teacher"].FinalUsed != 0 || final["admin-modify"].Limit != 2 || final["admin-modify"].FinalUsed != 0 {
		t.Errorf("pools at the end: %+v, want teacher 0/3 and admin-modify 0/2", rep.Final)
	}
	byName := map[string]loadtest.CohortReport{}
	for _, c := range rep.Cohorts {
		byName[c.Name] = c
		if c.Requests == 0 || c.UserHours <= 0 {
			t.Errorf("%s: %d requests in %.2f user-hours", c.Name, c.Requests, c.UserHours)
		}
		if len(c.Unexpected) > 0 {
			t.Errorf("%s: unexpected answers %v", c.Name, c.Unexpected)
		}
	}
	for _, name := range []string{"élèves", "parents"} {
		c := byName[name]
		if c.LoginsSucceeded != c.RentreeCohort.Users || len(c.LoginsRefused) != 0 {
			t.Errorf("%s: %d of %d signed in, refused %v", name, c.LoginsSucceeded, c.RentreeCohort.Users, c.LoginsRefused)
		}
		// Two of six (one of four) walk away: the server ends them at its idle limit.
		if c.Ended["idle_timeout"] == 0 {
			t.Errorf("%s: no idle user was disconnected: %v", name, c.Ended)
		}
		// Without a seat, the agent reports every 10 minutes: about 6 an
		// hour (the first report comes at a random point of the first
		// interval, and the idle ones stop at the limit).
		if hb := c.PerUserHour(loadtest.RouteHeartbeat); hb < 3 || hb > 12 {
			t.Errorf("%s: %.1f heartbeats per user-hour, want about 6", name, hb)
		}
	}
	for _, name := range []string{"professeurs", "administratifs"} {
		c := byName[name]
		if c.LoginsRefused[sesame.CodeSeatsExhausted] == 0 {
			t.Errorf("%s: nobody was refused a seat: %v", name, c.LoginsRefused)
		}
		// A seat is renewed at the server's 60 s rhythm: about 60 an hour.
		if hb := c.PerUserHour(loadtest.RouteHeartbeat); hb < 30 || hb > 90 {
			t.Errorf("%s: %.1f heartbeats per user-hour, want about 60", name, hb)
		}
	}
	pools := map[string]loadtest.PoolStats{}
	for _, p := range rep.Pools() {
		pools[p.Pool] = p
	}
	if p := pools["teacher"]; p.Limit != 3 || p.MaxHeldClient != 3 || p.MaxUsedServer > 3 {
		t.Errorf("teacher pool: %+v, want 3 seats held at once, never more", p)
	}
	if p := pools["admin-modify"]; p.Limit != 2 || p.MaxHeldClient != 2 || p.MaxUsedServer > 2 {
		t.Errorf("admin-modify pool: %+v, want 2 seats held at once, never more", p)
	}
	// The first three teachers sign in first, and the idle ones among them
	// (the third, with two idle of five) leave a seat to one refused.
	if c := byName["professeurs"]; c.LoginsSucceeded <= 3 {
		t.Errorf("professeurs: %d sign-ins, want more than the 3 seats once an idle one was disconnected", c.LoginsSucceeded)
	}
	for _, want := range []string{"p99,9", "Aucune violation.", "non comptées", "à la fin, teacher : 0 occupées pour une limite de 3."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRentreeRefusesWithoutSupervisor(t *testing.T) {
	_, err := loadtest.Rentree(context.Background(), loadtest.RentreeConfig{URL: "http://127.0.0.1:1/", UAI: uai, Year: year,
		Password: pw, Cohorts: loadtest.RentreeCohorts(1, 0, 0, 0)})
	if sesame.ErrorCode(err) != sesame.CodeInvalid {
		t.Fatalf("err = %v, want invalid", err)
	}
}
