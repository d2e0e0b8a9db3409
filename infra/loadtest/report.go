package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// routeStats computes the percentiles of a route's latencies.
func routeStats(route string, n int, lat []time.Duration) RouteStats {
	s := RouteStats{Route: route, Requests: n}
	if len(lat) == 0 {
		return s
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	s.P50, s.P90, s.P99 = percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99)
	s.P999 = sorted[max((999*len(sorted)+999)/1000, 1)-1]
	s.Max = sorted[len(sorted)-1]
	return s
}

// percentile is the nearest-rank percentile p of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}

// Write prints the report in French.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	mode := r.Mode
	if r.Access != "" {
		mode += "/" + r.Access
	}
	p("Test de charge de %s — établissement %s, base %s\n", r.URL, r.UAI, r.Year)
	p("%d navigateurs simulés en mode %s, dont %d inactifs ; un signal de présence toutes les %s ; durée %s.\n",
		r.Users, mode, r.IdleUsers, duration(r.Heartbeat), duration(r.Elapsed))
	if r.Stopped != "" {
		p("Arrêt anticipé : %s.\n", r.Stopped)
	}
	p("\nConnexions : %d tentées, %d réussies, %d refusées", r.LoginsAttempted, r.LoginsSucceeded, r.LoginsAttempted-r.LoginsSucceeded)
	if len(r.LoginsRefused) > 0 {
		p(" (%s)", counts(r.LoginsRefused))
	}
	p(".\n")
	if r.LoginsRefused["invalid_credentials"] > 0 {
		p("  Des comptes sont inconnus ou leur mot de passe est faux : créez-les avant le test (sesame loadtest --create-users, serveur arrêté).\n")
	}
	p("Signaux de présence : %d envoyés, %d acceptés.\n", r.HeartbeatsSent, r.HeartbeatsOK)
	p("Vérifications de droits (authorize) : %d (%d autorisées, %d refusées).\n", r.AuthorizeSent, r.AuthorizeAllowed, r.AuthorizeDenied)
	p("Déconnexions envoyées : %d.\n", r.LogoutsSent)
	if len(r.Ended) > 0 {
		p("Sessions fermées par le serveur : %s.\n", counts(r.Ended))
	} else {
		p("Sessions fermées par le serveur : aucune.\n")
	}
	if len(r.Unexpected) > 0 {
		p("Réponses inattendues : %s.\n", counts(r.Unexpected))
	}
	if r.NetworkErrors > 0 {
		p("Requêtes sans réponse (erreurs réseau) : %d.\n", r.NetworkErrors)
	}

	p("\nDébit : %s requêtes/s (%d requêtes en %s).\n", decimal(r.Throughput, 1), r.Requests, duration(r.Elapsed))
	if len(r.Routes) > 0 {
		p("Latence par route :\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  route\trequêtes\tp50\tp90\tp99\tmax\t\n")
		for _, s := range r.Routes {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t\n", s.Route, s.Requests, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
		}
		_ = tw.Flush()
	}

	p("\nInvariant des places :\n")
	if r.ServerChecked {
		p("  côté serveur : %d lectures de GET /connections par le superviseur (chaque seconde et à la fin).\n", r.ServerChecks)
	} else {
		p("  côté serveur : non vérifié (pas de superviseur).\n")
	}
	for _, ps := range r.Pools {
		final := "non lu"
		if ps.FinalUsed >= 0 {
			final = strconv.Itoa(ps.FinalUsed)
		}
		p("  %s : limite %d ; au plus %d occupées selon le serveur, au plus %d tenues à la fois par nos navigateurs ; %s occupées à la fin.\n",
			ps.Pool, ps.Limit, ps.MaxUsedServer, ps.MaxHeldClient, final)
	}
	if r.ViolationCount == 0 {
		p("  Aucune violation : jamais plus de places occupées que la limite.\n")
	} else {
		p("  VIOLATIONS : %d dépassement(s) de la limite.\n", r.ViolationCount)
		writeViolations(&b, r.Violations, r.ViolationCount)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeViolations lists the violations kept, of n in all.
func writeViolations(b *strings.Builder, kept []Violation, n int) {
	for _, v := range kept {
		fmt.Fprintf(b, "    à %s (%s) : %s, %d places occupées pour une limite de %d\n", duration(v.At), v.Source, v.Pool, v.Used, v.Limit)
	}
	if n > len(kept) {
		fmt.Fprintf(b, "    … et %d autres.\n", n-len(kept))
	}
}

// counts writes "a 3, b 1", by key.
func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if name == "" {
			name = "sans code"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

// decimal writes f with a decimal comma.
func decimal(f float64, prec int) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', prec, 64), ".", ",", 1)
}

func ms(d time.Duration) string {
	return decimal(float64(d)/float64(time.Millisecond), 2) + " ms"
}

// duration writes d in seconds, or milliseconds under a second.
func duration(d time.Duration) string {
	if d < time.Second {
		return decimal(float64(d)/float64(time.Millisecond), 0) + " ms"
	}
	return decimal(d.Seconds(), 1) + " s"
}
