package sesame_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/storetest/stores"
)

func TestMain(m *testing.M) {
	m.Run()
	dynamolocal.Shutdown()
}

var fastHash = password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})

// eachStore runs f on a bbolt file and on DynamoDB Local.
func eachStore(t *testing.T, f func(t *testing.T, st sesame.Backend)) { stores.Each(t, f) }

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

const (
	uai  = "0751234A"
	y1   = "2025-2026"
	y2   = "2026-2027"
	pass = "mot-de-passe-de-l-an-dernier"
)

// lastYear builds base y1 with a custom group and profile and users of
// every kind, and the empty base y2.
func lastYear(t *testing.T, st sesame.Backend, users int) *sesame.Service {
	t.Helper()
	ctx := context.Background()
	svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: &clock{time.Now().UTC().Truncate(time.Second)}, Timing: sesame.DefaultTiming}
	for _, y := range []string{y1, y2} {
		if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège Jean Moulin", Year: y, Consultation: true, SPRPassword: "spr-" + y + "-secret"}); err != nil {
			t.Fatal(err)
		}
	}
	k1 := sesame.BaseKey{UAI: uai, Year: y1}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateProfile(ctx, k1, sesame.Profile{ID: "secr", Name: "Secrétariat", Mode: sesame.ModeAdmin, Group: sesame.GroupModif,
		Grants: []string{"notes.saisir-notes", "exports.realiser-exports"}, AutoDisconnect: sesame.AutoDisconnect{Enabled: true, After: 20 * time.Minute}}))
	must(st.CreateProfile(ctx, k1, sesame.Profile{ID: "vs", Name: "Vie scolaire", Mode: sesame.ModeVieScolaire,
		Grants: []string{"absences.voir-tableau-bord"}, AutoDisconnect: sesame.AutoDisconnect{Enabled: false}}))
	add := func(login, kind, group, profile string) {
		_, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: y1, Login: login, Kind: kind, DisplayName: "Compte " + login,
			AdminGroup: group, Profile: profile, Password: pass})
		must(err)
	}
	add("secretaire", "staff", "Secrétariat", "Vie scolaire")
	add("cpe", "staff", "", "Vie scolaire")
	add("gestion", "staff", "Consultation", "")
	for i := range users {
		add(fmt.Sprintf("prof%03d", i), "teacher", "", "")
	}
	add("parent.durand", "parent", "", "")
	add("eleve.durand", "student", "", "")
	return svc
}

func signIn(t *testing.T, svc *sesame.Service, year, login, pw, mode string) error {
	t.Helper()
	_, err := svc.Login(context.Background(), sesame.LoginRequest{School: uai, Login: login, Password: pw, Mode: mode, Year: year, Address: "127.0.0.1"})
	return err
}

func TestRecoverFromLastYearsBase(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 120)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		src, err := svc.BaseSource(ctx, k1)
		if err != nil {
			t.Fatal(err)
		}

		// A dry run changes nothing and says what would happen.
		dry, err := svc.Recover(ctx, k2, src, sesame.FromYear(y1), sesame.RecoverOptions{Add: true, Update: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Added != 125 || dry.Updated != 0 || len(dry.Rejected) != 1 || dry.Rejected[0].Code != sesame.RejectProtected || dry.ID == "" {
			t.Fatalf("dry run: added %d, updated %d, rejected %+v", dry.Added, dry.Updated, dry.Rejected)
		}
		if _, err := st.GetUser(ctx, k2, "cpe"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("a dry run wrote a user: %v", err)
		}
		ref, opts, err := svc.PlannedSource(ctx, k2, dry.ID)
		if err != nil || ref != sesame.FromYear(y1) || !opts.Add || !opts.Update {
			t.Fatalf("PlannedSource = %q %+v %v", ref, opts, err)
		}

		// Its apply does exactly that.
		done, err := svc.ApplyPlan(ctx, k2, dry.ID, src)
		if err != nil {
			t.Fatal(err)
		}
		if done.Added != dry.Added || done.Updated != 0 || done.DryRun || len(done.Rejected) != 1 {
			t.Fatalf("apply: %+v", done)
		}
		// Groups, profiles and users come out equal; last year's passwords work.
		for _, login := range []string{"secretaire", "cpe", "gestion", "prof007", "parent.durand", "eleve.durand"} {
			a, err := st.GetUser(ctx, k1, login)
			if err != nil {
				t.Fatal(err)
			}
			b, err := st.GetUser(ctx, k2, login)
			if err != nil {
				t.Fatalf("%s not recovered: %v", login, err)
			}
			if a.DisplayName != b.DisplayName || a.Kind != b.Kind || a.PasswordHash != b.PasswordHash || a.Enabled != b.Enabled {
				t.Fatalf("%s differs: %+v / %+v", login, a, b)
			}
		}
		g, err := st.GetUser(ctx, k2, "secretaire")
		if err != nil {
			t.Fatal(err)
		}
		group, err := st.GetProfile(ctx, k2, g.AdminGroup)
		if err != nil || group.Name != "Secrétariat" || group.AutoDisconnect.After != 20*time.Minute || !slices.Contains(group.Grants, "exports.realiser-exports") {
			t.Fatalf("recovered group: %+v, %v", group, err)
		}
		if prof, err := st.GetProfile(ctx, k2, g.Profile); err != nil || prof.Name != "Vie scolaire" || prof.AutoDisconnect.Enabled {
			t.Fatalf("recovered staff profile: %+v, %v", prof, err)
		}
		if err := signIn(t, svc, "", "secretaire", pass, "admin"); err != nil {
			t.Fatalf("last year's password does not open the new year: %v", err)
		}
		// The new base's SPR is its own.
		if err := signIn(t, svc, y2, "spr", "spr-"+y2+"-secret", "admin"); err != nil {
			t.Fatalf("the new base's SPR: %v", err)
		}

		// The same content again changes nothing, even a password changed since.
		u, _ := st.GetUser(ctx, k2, "cpe")
		u.PasswordHash, _ = fastHash.Hash("nouveau-mot-de-passe")
		if _, err := st.UpdateUser(ctx, k2, u); err != nil {
			t.Fatal(err)
		}
		again, err := svc.Recover(ctx, k2, src, sesame.FromYear(y1), sesame.RecoverOptions{Add: true, Update: true})
		if err != nil {
			t.Fatal(err)
		}
		if !again.AlreadyApplied || again.Added != done.Added {
			t.Fatalf("second apply: %+v", again)
		}
		if now, _ := st.GetUser(ctx, k2, "cpe"); now.PasswordHash != u.PasswordHash {
			t.Fatal("a second apply of the same content overwrote a password changed since")
		}
	})
}

func TestRecoverOptions(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 3)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		for _, u := range []sesame.NewUser{{Login: "CPE", Kind: "staff"}, {Login: "PROF000", Kind: "teacher"}} {
			u.UAI, u.Year, u.DisplayName, u.Password = uai, y2, "Ancien nom", "autre-mot-de-passe"
			if _, err := svc.AddUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		src, _ := svc.BaseSource(ctx, k1)
		if _, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{}); sesame.ErrorCode(err) != sesame.CodeBadRequest {
			t.Fatalf("neither add nor update: %v", err)
		}
		// Update only: the existing user is updated (logins compare in any
		// case), nobody is added, and no group or profile is created: the
		// user whose profile is missing is rejected, saying to tick Ajouter.
		up, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Update: true})
		if err != nil {
			t.Fatal(err)
		}
		if up.Added != 0 || up.Updated != 1 || up.Skipped != 6 || len(up.ToUpdate) != 1 || !slices.Contains(up.ToUpdate[0].Fields, "password") {
			t.Fatalf("update only: %+v", up)
		}
		if len(up.Rejected) != 2 || up.Rejected[0].Login != "cpe" || up.Rejected[0].Code != sesame.RejectUnknownGroup ||
			!strings.Contains(up.Rejected[0].Message, "Ajouter des utilisateurs") {
			t.Fatalf("update only, rejected: %+v", up.Rejected)
		}
		for _, p := range up.Profiles {
			if p.Name == "Secrétariat" && p.Action != "skipped" {
				t.Fatalf("update only created a group: %+v", p)
			}
		}
		if ps, err := st.ListProfiles(ctx, k2); err != nil || slices.ContainsFunc(ps, func(p sesame.Profile) bool { return p.Name == "Secrétariat" }) {
			t.Fatalf("update only wrote a missing group (%v)", err)
		}
		if err := signIn(t, svc, "", "prof000", pass, "teacher"); err != nil {
			t.Fatalf("updated password: %v", err)
		}
		// Add only: the missing are added, the existing left alone.
		cpe, _ := st.GetUser(ctx, k2, "cpe")
		cpe.DisplayName = "Changé cette année"
		if _, err := st.UpdateUser(ctx, k2, cpe); err != nil {
			t.Fatal(err)
		}
		add, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true})
		if err != nil {
			t.Fatal(err)
		}
		if add.Added != 6 || add.Updated != 0 {
			t.Fatalf("add only: %+v", add)
		}
		if now, _ := st.GetUser(ctx, k2, "cpe"); now.DisplayName != "Changé cette année" {
			t.Fatal("add only changed an existing user")
		}
	})
}

func TestRecoverRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 2)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		src, _ := svc.BaseSource(ctx, k1)
		// Into the same year, or into an earlier one: refused.
		if _, err := svc.Recover(ctx, k1, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true}); !errors.Is(err, sesame.ErrInvalidImport) {
			t.Fatalf("same year: %v", err)
		}
		// Another school's base: refused.
		if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: "0931234B", Name: "Autre", Year: y2, SPRPassword: "xxxxxxxxxx"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Recover(ctx, sesame.BaseKey{UAI: "0931234B", Year: y2}, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true}); !errors.Is(err, sesame.ErrInvalidImport) {
			t.Fatalf("another school: %v", err)
		}
		// A dry run gone stale: the base changed before the apply.
		dry, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: y2, Login: "prof001", Kind: "teacher", DisplayName: "Arrivé entre-temps", Password: "xxxxxxxxxx"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ApplyPlan(ctx, k2, dry.ID, src); !errors.Is(err, sesame.ErrPlanStale) {
			t.Fatalf("stale plan: %v", err)
		}
		if _, err := st.GetUser(ctx, k2, "cpe"); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatal("a stale plan was applied")
		}
		if _, err := svc.ApplyPlan(ctx, k2, "rec-inconnu", src); !errors.Is(err, sesame.ErrNotFound) {
			t.Fatalf("unknown plan: %v", err)
		}
	})
}

// failingStore is a real store whose WriteImport fails from its nth call
// on, as a crash or a timeout would stop a recovery halfway.
type failingStore struct {
	sesame.Backend
	calls, failFrom int
}

func (f *failingStore) WriteImport(ctx context.Context, k sesame.BaseKey, ws []sesame.ImportWrite, j sesame.ImportJob) (sesame.ImportJob, error) {
	f.calls++
	if f.failFrom > 0 && f.calls >= f.failFrom {
		return sesame.ImportJob{}, errors.New("délai dépassé")
	}
	return f.Backend.WriteImport(ctx, k, ws, j)
}

func TestRecoverResumesWhereItStopped(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 160)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		src, _ := svc.BaseSource(ctx, k1)
		fs := &failingStore{Backend: st, failFrom: 3} // profiles, one batch of users, then it stops
		broken := &sesame.Service{Store: fs, Hasher: svc.Hasher, Clock: svc.Clock, Timing: svc.Timing}
		if _, err := broken.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true}); err == nil {
			t.Fatal("the broken run succeeded")
		}
		page, _ := st.ListUsers(ctx, k2, sesame.UserQuery{Limit: 1000})
		if n := len(page.Users); n <= 1 || n >= 166 {
			t.Fatalf("after the stop, %d users: want a part of them", n)
		}
		report, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true})
		if err != nil {
			t.Fatal(err)
		}
		page, _ = st.ListUsers(ctx, k2, sesame.UserQuery{Limit: 1000})
		if len(page.Users) != 166 || report.Added != 165 {
			t.Fatalf("after the retry: %d users, report added %d; want 166 and 165", len(page.Users), report.Added)
		}
	})
}

// countingHasher is the real hasher, counting the work of each format.
type countingHasher struct {
	*password.Hasher
	work map[sesame.HashFormat]int
}

func (c *countingHasher) Verify(hash, pw string) (bool, bool, error) {
	f, _ := sesame.ParseHashFormat(hash)
	c.work[f]++
	return c.Hasher.Verify(hash, pw)
}

func (c *countingHasher) Burn(pw string, f sesame.HashFormat, cost int) {
	c.work[f]++
	c.Hasher.Burn(pw, f, cost)
}

func TestImportedBcryptHashes(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		ctx := context.Background()
		svc := lastYear(t, st, 1)
		k1, k2 := sesame.BaseKey{UAI: uai, Year: y1}, sesame.BaseKey{UAI: uai, Year: y2}
		// Last year's base holds an account imported with a bcrypt hash.
		legacy, err := bcrypt.GenerateFromPassword([]byte("ancien-mot-de-passe"), 10)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := st.GetUser(ctx, k1, "cpe")
		u.PasswordHash = string(legacy)
		if _, err := st.UpdateUser(ctx, k1, u); err != nil {
			t.Fatal(err)
		}
		counter := &countingHasher{Hasher: fastHash, work: map[sesame.HashFormat]int{}}
		svc.Hasher = counter
		// Before any bcrypt hash, sign-in does one argon2id's work.
		_ = signIn(t, svc, "", "personne", "x", "teacher")
		if counter.work[sesame.HashArgon2id] != 1 || counter.work[sesame.HashBcrypt] != 0 {
			t.Fatalf("unknown login before import: %v", counter.work)
		}
		src, _ := svc.BaseSource(ctx, k1)
		if _, err := svc.Recover(ctx, k2, src, sesame.FromUpload("x"), sesame.RecoverOptions{Add: true}); err != nil {
			t.Fatal(err)
		}
		if b, _ := st.GetBase(ctx, k2); !b.LegacyHashes {
			t.Fatal("recovering a bcrypt hash did not mark the base")
		}
		if err := svc.UseYear(ctx, uai, y2); err != nil { // the rentrée: sign-in goes to the new year
			t.Fatal(err)
		}
		// Now every sign-in does the work of both formats: unknown login, argon2id account, bcrypt account.
		for _, c := range []struct{ login, pw, mode string }{
			{"personne", "x", "teacher"}, {"prof000", pass, "teacher"}, {"prof000", "faux", "teacher"}, {"cpe", "faux", "vie-scolaire"},
		} {
			counter.work = map[sesame.HashFormat]int{}
			_ = signIn(t, svc, "", c.login, c.pw, c.mode)
			if counter.work[sesame.HashArgon2id] != 1 || counter.work[sesame.HashBcrypt] != 1 {
				t.Fatalf("%s with %q: work %v, want one of each format", c.login, c.pw, counter.work)
			}
		}
		// The imported account signs in with its old password, and its hash becomes argon2id.
		if err := signIn(t, svc, "", "cpe", "ancien-mot-de-passe", "vie-scolaire"); err != nil {
			t.Fatalf("bcrypt account: %v", err)
		}
		if now, _ := st.GetUser(ctx, k2, "cpe"); !strings.HasPrefix(now.PasswordHash, "$argon2id$") {
			t.Fatalf("the bcrypt hash was not replaced: %.10s", now.PasswordHash)
		}
	})
}
