package loadtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/loadtest"
)

// slowVerify is a hasher whose verification takes at least 100 ms, as
// the product's argon2id does: sign-ins that arrive together then meet at
// the hashing gate, however the store spreads their arrival.
type slowVerify struct{ sesame.PasswordHasher }

func (h slowVerify) Verify(hash, password string) (bool, bool, error) {
	time.Sleep(100 * time.Millisecond)
	return h.PasswordHasher.Verify(hash, password)
}

// rushServer starts the product over a bbolt file with students
// eleve001… and parents parent001…, behind a hashing gate of one slot
// that refuses anyone who would have to queue at all: a rush of a few
// dozen sign-ins at once is then mostly answered 503 busy.
func rushServer(t *testing.T, students, parents int) string {
	t.Helper()
	ctx := context.Background()
	svc, _ := newService(t)
	svc.Hashing = sesame.NewHashGate(1, time.Nanosecond)
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège de la ruée", Year: year, SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix string
		kind   sesame.Kind
		n      int
	}{{"eleve", sesame.KindStudent, students}, {"parent", sesame.KindParent, parents}} {
		for i := range c.n {
			if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: loadtest.Account(c.prefix, 1, i),
				Kind: string(c.kind), DisplayName: "Compte de la ruée", Password: pw}); err != nil {
				t.Fatal(err)
			}
		}
	}
	svc.Hasher = slowVerify{svc.Hasher}
	return listen(t, svc)
}

// A rush through the real server, all at once: the refused are told 503
// busy with a Retry-After, nobody gets any other 5xx, and every client
// signs in by following Retry-After.
func TestRushFollowsRetryAfter(t *testing.T) {
	url := rushServer(t, 20, 6)
	rep, err := loadtest.Rush(context.Background(), loadtest.RushConfig{URL: url + "/", UAI: uai, Year: year,
		Cohorts:  []loadtest.Cohort{{Prefix: "eleve", Mode: "student", Users: 20}, {Prefix: "parent", Mode: "parent", Users: 6}},
		Password: pw, Window: time.Millisecond, Drain: time.Minute, Heartbeat: 200 * time.Millisecond,
		PID: os.Getpid(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if rep.Refused["503 busy"] == 0 {
		t.Fatalf("the rush never filled the gate: refused %v", rep.Refused)
	}
	for k := range rep.Refused {
		if k != "503 busy" && k != "429 too_many_attempts" {
			t.Errorf("refused %d times with %s", rep.Refused[k], k)
		}
	}
	if len(rep.ServerErrors) != 0 || rep.NetworkErrors != 0 {
		t.Errorf("5xx other than 503 busy: %v; network errors %d", rep.ServerErrors, rep.NetworkErrors)
	}
	if rep.RetryAfterMissing != 0 {
		t.Errorf("%d refusals without Retry-After", rep.RetryAfterMissing)
	}
	if rep.SignedIn != 26 || rep.GaveUp != 0 || !rep.OK() {
		t.Errorf("%d of 26 signed in, %d gave up", rep.SignedIn, rep.GaveUp)
	}
	if rep.Attempts <= rep.SignedIn || rep.RefusalLatency.N != rep.Attempts-rep.SignedIn {
		t.Errorf("%d attempts, %d refusals timed, %d signed in", rep.Attempts, rep.RefusalLatency.N, rep.SignedIn)
	}
	if rep.TimeToSignIn.Max < time.Second {
		t.Errorf("a refused client came back before its Retry-After: slowest sign-in took %v", rep.TimeToSignIn.Max)
	}
	if !rep.Memory.Read || rep.Memory.HWM < rep.Memory.PeakRSS || rep.Memory.PeakRSS <= 0 {
		t.Errorf("memory of this process: %+v", rep.Memory)
	}
	for _, want := range []string{"Connectés : 26 sur 26 (0 abandons)", "Refus par code : 503 busy", "Refus sans Retry-After : 0.",
		"Erreurs 5xx autres que 503 busy : aucune.", "Mémoire du serveur : pic résident"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// Capacity signs in again and again from a closed loop.
func TestCapacity(t *testing.T) {
	url := rushServer(t, 2, 0)
	cfg := loadtest.RushConfig{URL: url, UAI: uai, Year: year, Password: pw,
		Cohorts: []loadtest.Cohort{{Prefix: "eleve", Mode: "student", Users: 2}}}
	rep, err := loadtest.Capacity(context.Background(), cfg, 1, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SignIns == 0 || rep.Failures != 0 || len(rep.Refused) != 0 || rep.Rate <= 0 {
		t.Fatalf("capacity: %+v", rep)
	}
	if _, err := loadtest.Capacity(context.Background(), cfg, 3, time.Millisecond); sesame.ErrorCode(err) != sesame.CodeInvalid {
		t.Fatalf("3 workers for 2 accounts: %v", err)
	}
	cfg.URL = "http://192.168.1.10/"
	if _, err := loadtest.Rush(context.Background(), cfg); sesame.ErrorCode(err) != sesame.CodeInvalid {
		t.Fatalf("a rush elsewhere than this machine: %v", err)
	}
}
