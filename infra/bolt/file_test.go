package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
)

// Tests of what is particular to the bolt file: persistence across a
// reopen, the lock held against a second process, and time precision.

var t0 = time.Date(2026, 9, 1, 8, 0, 0, 123456789, time.UTC)

const lease = 180 * time.Second

func newBase(t testing.TB, st sesame.Store, uai sesame.UAI, lic sesame.License) sesame.BaseKey {
	t.Helper()
	k := sesame.BaseKey{UAI: uai, Year: "2026-2027"}
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "Superviseur"}, t0)
	if err := st.CreateBase(context.Background(), sesame.School{UAI: uai, Name: "Collège Jean Moulin"},
		sesame.Base{BaseKey: k, License: lic, CreatedAt: t0}, c); err != nil {
		t.Fatalf("CreateBase: %v", err)
	}
	return k
}

func session(k sesame.BaseKey, id, login string, pool sesame.Pool, now time.Time) sesame.Session {
	return sesame.Session{ID: id, UAI: k.UAI, Year: k.Year, Login: login, DisplayName: login, Kind: sesame.KindStaff,
		Mode: sesame.ModeAdmin, Access: sesame.Modify, Pool: pool,
		CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour), LastActivity: now, LastSeen: now}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "sesame.db") // parents are created
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	paris := time.FixedZone("Paris", 2*3600)
	local := t0.In(paris)
	if err := st.CreateUser(ctx, k, sesame.User{Login: "Prof.Un", DisplayName: "Prof Un", Kind: sesame.KindTeacher,
		Enabled: true, CreatedAt: local, UpdatedAt: local}); err != nil {
		t.Fatal(err)
	}
	s := session(k, "s1", "prof.un", sesame.PoolAdminModify, local)
	l, err := st.OpenSession(ctx, s, sesame.SeatPolicy{Limit: 4, Lease: lease}, local)
	if err != nil {
		t.Fatal(err)
	}
	if l.AcquiredAt != t0 || l.ExpiresAt != t0.Add(lease) {
		t.Fatalf("lease times %v / %v, want UTC %v", l.AcquiredAt, l.ExpiresAt, t0)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = bolt.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	u, err := st.GetUser(ctx, k, "PROF.UN")
	if err != nil {
		t.Fatal(err)
	}
	// Stored in UTC with the nanoseconds.
	if u.Login != "Prof.Un" || u.Version != 1 || u.CreatedAt != t0 || u.CreatedAt.Location() != time.UTC {
		t.Fatalf("user after reopen: %+v", u)
	}
	got, err := st.GetSession(ctx, "s1")
	if err != nil || !got.Open() || got.CreatedAt != t0 {
		t.Fatalf("session after reopen: %+v, %v", got, err)
	}
	if l.Held != 1 {
		t.Fatalf("the lease counts %d seats held after its admission, want 1", l.Held)
	}
	l.Held = 0 // a count of the admission, not stored with the lease
	ls, err := st.ListLeases(ctx, k, t0.Add(time.Minute))
	if err != nil || len(ls) != 1 || ls[0] != l {
		t.Fatalf("leases after reopen: %+v, %v (want %+v)", ls, err, l)
	}
	ss, err := st.ListSessions(ctx, k)
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions after reopen: %+v, %v", ss, err)
	}
	sc, err := st.GetSchool(ctx, k.UAI)
	if err != nil || sc.CurrentYear != k.Year {
		t.Fatalf("school after reopen: %+v, %v", sc, err)
	}
}

// lockHelperEnv makes the test binary act as a second process that tries
// to open the file named by the variable.
const lockHelperEnv = "SESAME_BOLT_LOCK_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockHelperEnv); path != "" {
		st, err := bolt.Open(path, bolt.WithTimeout(200*time.Millisecond))
		if err == nil {
			st.Close()
			fmt.Println("opened")
			os.Exit(0)
		}
		fmt.Printf("locked=%v\n%s\n", errors.Is(err, bolt.ErrLocked), sesame.ErrorMessage(err))
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
		out, err := cmd.Output()
		return string(out), err
	}
	out, err := run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("second process: %v, output %q", err, out)
	}
	if !strings.Contains(out, "locked=true") || !strings.Contains(out, "est déjà ouverte par un autre processus") {
		t.Fatalf("second process said %q", out)
	}
	// Once the first process lets go, the second one opens the file.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := run(); err != nil || !strings.Contains(out, "opened") {
		t.Fatalf("after close: %v, %q", err, out)
	}
}

func TestSecondOpenInProcessTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, err = bolt.Open(path, bolt.WithTimeout(100*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) || sesame.ErrorCode(err) != sesame.CodeInternal {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second open waited %v", d)
	}
}

func TestCanceledContext(t *testing.T) {
	st := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.GetSchool(ctx, "0751234A"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetSchool with a canceled context: %v", err)
	}
}
