package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Bench measures a seat acquisition plus its release under contention:
// 8 pools of 4 seats (the admin-modify pools of 8 bases), 32 clients, each
// picking its pool in turn so that clients meet in full pools. One op is one
// attempt (OpenSession, then EndSession when it got a seat). It reports the
// share of attempts refused because the pool was full.
func Bench(b *testing.B, st sesame.Store) {
	const pools, clients = 8, 32
	var keys []sesame.BaseKey
	for range pools {
		keys = append(keys, MustBase(b, st, NewUAI(), year, sesame.DefaultLicense))
	}
	policy := sesame.SeatPolicy{Limit: seats, Lease: time.Minute}
	var client, refused atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := client.Add(1)
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			k := keys[(int(c)+i)%pools]
			s := newSession(k, fmt.Sprintf("c%d", c), sesame.PoolAdminModify, time.Now().UTC())
			_, err := st.OpenSession(ctx, s, policy, time.Now().UTC())
			if errors.Is(err, sesame.ErrSeatsExhausted) {
				refused.Add(1)
				continue
			}
			if err != nil {
				b.Fatalf("OpenSession: %v", err)
			}
			if _, err := st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, time.Now().UTC()); err != nil {
				b.Fatalf("EndSession: %v", err)
			}
		}
	})
	b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
}

// benchUsers is the size of the base that BenchListUsers lists.
const benchUsers = 10_000

// French first and last names for BenchListUsers. Each last name is borne
// by 1% of the users; "Lefèvre" (folded "lefevre") is part of no other
// name, so searching it finds exactly that 1%.
var (
	benchFirstNames = []string{"Marie", "Jean", "Camille", "Léa", "Lucas", "Chloé", "Hugo", "Manon", "Louis", "Inès",
		"Gabriel", "Jade", "Raphaël", "Louise", "Arthur", "Emma", "Jules", "Alice", "Mathis", "Zoé",
		"Théo", "Lina", "Nathan", "Rose", "Maël", "Anna", "Noé", "Ambre", "Paul", "Juliette",
		"Adam", "Romane", "Victor", "Agathe", "Éloïse", "Clément", "Margaux", "Maxime", "Océane", "Benoît",
		"Hélène", "François", "Cécile", "Jérôme", "Anaïs", "Amélie", "Gaëtan", "Mathilde", "Loïc", "Aurélien"}
	benchLastNames = []string{"Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
		"Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
		"Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Faure", "André", "Mercier",
		"Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin",
		"Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand",
		"Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
		"Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez",
		"Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard",
		"Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois",
		"Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Le Gall", "Guillaume", "Lecomte", "Dupré"}
)

// benchLogin makes a login of a name: folded, spaces as hyphens.
func benchLogin(s string) string { return strings.ReplaceAll(sesame.Fold(s), " ", "-") }

// BenchListUsers measures ListUsers on a base of 10,000 users with French
// names (seeded once, by WriteImport steps of sesame.MaxImportWrites), one
// page of 50 per op:
//   - page: the first page, no filter;
//   - prefix: the first page of the logins that start with "ma";
//   - search: the first page of a last name borne by 1% of the users
//     (about half the base is read to fill it);
//   - search-rare: a name borne by one user, which reads the whole base.
func BenchListUsers(b *testing.B, st sesame.Store) {
	ctx := context.Background()
	k := MustBase(b, st, NewUAI(), year, sesame.DefaultLicense)
	users := make([]sesame.User, benchUsers)
	kinds := []sesame.Kind{sesame.KindStudent, sesame.KindStudent, sesame.KindStudent, sesame.KindStudent, sesame.KindStudent,
		sesame.KindStudent, sesame.KindParent, sesame.KindParent, sesame.KindTeacher, sesame.KindStaff}
	seen := map[string]int{}
	for i := range users {
		first := benchFirstNames[(i/len(benchLastNames))%len(benchFirstNames)]
		last := benchLastNames[i%len(benchLastNames)]
		if i == benchUsers*7/10 {
			first, last = "Zéphyrine", "Kerhervé"
		}
		login := benchLogin(first) + "." + benchLogin(last)
		seen[login]++
		if n := seen[login]; n > 1 {
			login += strconv.Itoa(n)
		}
		u := sesame.User{Login: login, DisplayName: first + " " + last, Kind: kinds[i%len(kinds)], Enabled: true,
			PasswordHash: argonHash, CreatedAt: t0, UpdatedAt: t0}
		switch u.Kind {
		case sesame.KindTeacher:
			u.Profile = sesame.TeachersID
		case sesame.KindStaff:
			u.Profile, u.AdminGroup = sesame.StaffID, sesame.ConsultationID
		}
		users[i] = u
	}
	start := time.Now()
	job := sesame.ImportJob{ID: "bench-" + NewID()[:8], Source: "bench", State: sesame.ImportApplying, CreatedAt: t0, UpdatedAt: t0}
	for from := 0; from < len(users); from += sesame.MaxImportWrites {
		var ws []sesame.ImportWrite
		for i := from; i < min(from+sesame.MaxImportWrites, len(users)); i++ {
			ws = append(ws, sesame.ImportWrite{User: &users[i], Create: true})
		}
		job.Step += len(ws)
		var err error
		if job, err = st.WriteImport(ctx, k, ws, job); err != nil {
			b.Fatalf("seeding %d users: %v", benchUsers, err)
		}
	}
	b.Logf("seeded %d users in %v", benchUsers, time.Since(start).Round(time.Millisecond))

	const pageSize = 50
	matches := func(q sesame.UserQuery) int {
		n := 0
		for _, u := range users {
			if u.Matches(q) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name string
		q    sesame.UserQuery
	}{
		{"page", sesame.UserQuery{}},
		{"prefix", sesame.UserQuery{Prefix: "ma"}},
		{"search", sesame.UserQuery{Search: "Lefèvre"}},
		{"search-rare", sesame.UserQuery{Search: "kerherve"}},
	} {
		q := c.q
		q.Limit = pageSize
		want := min(pageSize, matches(q))
		if c.name == "search" && matches(q) != benchUsers/100 {
			b.Fatalf("the search matches %d users, want 1%%", matches(q))
		}
		if c.name == "search-rare" && want != 1 {
			b.Fatalf("the rare search matches %d users, want 1", want)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p, err := st.ListUsers(ctx, k, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Users) != want {
					b.Fatalf("ListUsers %+v: %d users, want %d", q, len(p.Users), want)
				}
			}
		})
	}
}
