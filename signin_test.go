package sesame_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// school makes a school with its SPR and n students, each with pass as
// password, and returns the service.
func school(t *testing.T, st sesame.Backend, svc *sesame.Service, code string, n int) {
	t.Helper()
	ctx := context.Background()
	if svc.Store == nil {
		svc.Store = st
	}
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: code, Name: "Collège " + code, Year: y2, SPRPassword: pass}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: code, Year: y2, Login: fmt.Sprintf("eleve%d", i), Kind: "student",
			DisplayName: "Élève", Password: pass}); err != nil {
			t.Fatal(err)
		}
	}
}

func newService(st sesame.Backend) *sesame.Service {
	return &sesame.Service{Store: st, Hasher: fastHash, Clock: &clock{time.Now().UTC().Truncate(time.Second)}, Timing: sesame.DefaultTiming}
}

func TestKnownDevicesSignInWhileTheirAddressIsAttacked(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		school(t, st, svc, "0751234A", 2)
		school(t, st, svc, "0350001B", 1)
		const nat = "203.0.113.5" // the whole school's address
		spr, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "spr", Password: pass, Mode: "admin", Address: nat})
		if err != nil {
			t.Fatal(err)
		}
		// Someone behind the same address guesses, with made-up logins,
		// past the address's free allowance.
		throttled := 0
		for i := range sesame.Address.Free + 40 {
			_, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: fmt.Sprintf("invente%d", i), Password: "devine-moi", Mode: "student", Address: nat})
			var te *sesame.ThrottledError
			switch {
			case errors.As(err, &te):
				throttled++
				if te.RetryAfter > sesame.Address.MaxDelay {
					t.Fatalf("the address waits %s, more than its cap %s", te.RetryAfter, sesame.Address.MaxDelay)
				}
			case !errors.Is(err, sesame.ErrInvalidCredentials):
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if throttled == 0 {
			t.Fatal("the address was never slowed down")
		}
		// A new device of the school is slowed down, with a capped delay…
		_, err = svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "eleve0", Password: pass, Mode: "student", Address: nat})
		var te *sesame.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter > sesame.Address.MaxDelay {
			t.Fatalf("an unknown device under attack: %v", err)
		}
		// …but the SPR's known device signs in at once,
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "spr", Password: pass, Mode: "admin", Address: nat, Device: spr.Device}); err != nil {
			t.Fatalf("the SPR's known device is refused: %v", err)
		}
		// and another school behind the same address is not affected.
		if _, err := svc.Login(ctx, sesame.LoginRequest{School: "0350001B", Login: "eleve0", Password: pass, Mode: "student", Address: nat}); err != nil {
			t.Fatalf("another school's student is refused: %v", err)
		}
	})
}

func TestIPv6IsThrottledBySlash64(t *testing.T) {
	a := sesame.AddressKey("0751234A", "2001:db8:1:2:aaaa::1")
	if b := sesame.AddressKey("0751234A", "2001:db8:1:2:ffff:ffff:ffff:ffff"); a != b {
		t.Fatalf("one /64, two keys: %s, %s", a, b)
	}
	if c := sesame.AddressKey("0751234A", "2001:db8:1:3::1"); a == c {
		t.Fatal("two /64s share a key")
	}
	if sesame.AddressKey("0751234A", "192.0.2.1") == sesame.AddressKey("0350001B", "192.0.2.1") {
		t.Fatal("two schools share an address key")
	}
	if sesame.AddressKey("0751234A", "::ffff:192.0.2.1") != sesame.AddressKey("0751234A", "192.0.2.1") {
		t.Fatal("an IPv4-mapped address is keyed apart from its IPv4 address")
	}
}

// countingVerifier counts verifications.
type countingVerifier struct {
	sesame.PasswordHasher
	n atomic.Int32
}

func (c *countingVerifier) Verify(hash, pw string) (bool, bool, error) {
	c.n.Add(1)
	return c.PasswordHasher.Verify(hash, pw)
}

func TestParallelGuessesVerifyAtMostTheBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		school(t, st, svc, "0751234A", 1)
		counting := &countingVerifier{PasswordHasher: fastHash}
		svc.Hasher = counting
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := range 40 {
			wg.Go(func() {
				_, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "eleve0", Password: fmt.Sprintf("essai-%d", i),
					Mode: "student", Address: fmt.Sprintf("198.51.100.%d", i)})
				mu.Lock()
				codes[sesame.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		for code := range codes {
			if code != sesame.CodeInvalidCredentials && code != sesame.CodeTooManyAttempts {
				t.Errorf("a guess answered %s (%v)", code, codes)
			}
		}
		if n := int(counting.n.Load()); n > sesame.UnknownDevices.Free+1 || n == 0 {
			t.Fatalf("40 parallel guesses verified %d passwords; the budget allows %d", n, sesame.UnknownDevices.Free+1)
		}
	})
}

func TestUnauthenticatedRequestsCannotGrowTheJournal(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := newService(st)
		school(t, st, svc, "0751234A", 1)
		k := sesame.BaseKey{UAI: "0751234A", Year: y2}
		journal := func() []sesame.JournalEntry {
			t.Helper()
			p, err := st.ListJournal(ctx, k, sesame.JournalQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return p.Entries
		}
		before := len(journal())
		long := strings.Repeat("9", 60_000)
		for i := range 120 {
			r := sesame.LoginRequest{School: "0751234A", Login: fmt.Sprintf("x%d-%s", i, strings.Repeat("é", 90)), Password: "mauvais", Mode: "student", Address: "192.0.2.1"}
			switch i % 4 {
			case 0:
				r.Year = long // malformed: refused before anything is written
			case 1:
				r.Login = "eleve0" // the account's budget runs out: throttled
			case 2:
				r.Mode = long
			}
			if _, err := svc.Login(ctx, r); err == nil {
				t.Fatal("a wrong password signed in")
			}
		}
		after := journal()
		if added := len(after) - before; added > 2 {
			t.Fatalf("120 unauthenticated requests added %d entries; at most one per reason and hour (2 here)", added)
		}
		total := 0
		for _, e := range after {
			for _, f := range []string{e.Actor, e.Subject, e.Address, e.Reason} {
				if len([]rune(f)) > sesame.MaxJournalName+1 {
					t.Fatalf("a field of %d characters: %+v", len(f), e)
				}
			}
			if e.Count > 0 {
				total += e.Count
			}
		}
		if total != 60 {
			t.Fatalf("the summaries count %d refusals; 60 were well-formed", total)
		}
		// Throttled sign-ins show in the journal, as their own summary.
		throttled := slices.ContainsFunc(after, func(e sesame.JournalEntry) bool {
			return e.Reason == sesame.CodeTooManyAttempts && e.Count > 0 && e.Event == sesame.EventLoginRefused
		})
		if !throttled {
			t.Fatalf("the journal does not show the throttled sign-ins: %+v", after)
		}
	})
}

func TestImportedHashesOverTheCapsAreRejected(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		svc := lastYear(t, st, 1)
		heavyArgon := "$argon2id$v=19$m=2097152,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
		heavyBcrypt := "$2a$31$" + strings.Repeat("a", 53)
		editY1(t, st, func(_ map[string]*sesame.Profile, us map[string]*sesame.User) {
			us["cpe"].PasswordHash = heavyArgon
			us["prof000"].PasswordHash = heavyBcrypt
		})
		rep := recoverY1(t, svc, sesame.RecoverOptions{Add: true, DryRun: true})
		for _, login := range []string{"cpe", "prof000"} {
			if r := rejection(t, rep, login); r.Code != sesame.RejectInvalid || !strings.Contains(r.Message, "nouveau mot de passe") {
				t.Errorf("%s: %+v", login, r)
			}
		}
	})
}

func TestACanceledSignInStopsAndWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		svc := newService(st)
		school(t, st, svc, "0751234A", 1)
		counting := &countingVerifier{PasswordHasher: fastHash}
		svc.Hasher = counting
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the browser has gone
		_, err := svc.Login(ctx, sesame.LoginRequest{School: "0751234A", Login: "eleve0", Password: "mauvais", Mode: "student", Address: "192.0.2.9"})
		if sesame.ErrorCode(err) != sesame.CodeCanceled {
			t.Fatalf("a canceled sign-in answers %v", err)
		}
		if n := counting.n.Load(); n != 0 {
			t.Fatalf("a canceled sign-in verified %d password(s)", n)
		}
		if _, err := st.GetAttempts(context.Background(), "acct:0751234A/eleve0"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("a canceled sign-in took a slot of the account's budget: %v", err)
		}
		p, err := st.ListJournal(context.Background(), sesame.BaseKey{UAI: "0751234A", Year: y2}, sesame.JournalQuery{Events: []sesame.Event{sesame.EventLoginRefused}})
		if err != nil || len(p.Entries) != 0 {
			t.Fatalf("a canceled sign-in was journalled: %+v %v", p.Entries, err)
		}
	})
}
