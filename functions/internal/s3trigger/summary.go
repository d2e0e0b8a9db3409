package s3trigger

import (
	"fmt"
	"strings"
)

// summary is the report in a few French lines, for IT staff who open the
// bucket rather than the JSON.
func summary(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Récupération des utilisateurs — établissement %s, base %s\n", r.School, r.Year)
	fmt.Fprintf(&b, "Fichier : %s", r.Key)
	if r.VersionID != "" {
		fmt.Fprintf(&b, " (version %s)", r.VersionID)
	}
	b.WriteString("\n")
	if o := r.Options; o != nil {
		fmt.Fprintf(&b, "Options : ajouter les utilisateurs manquants : %s ; mettre à jour les utilisateurs existants : %s ; aperçu seulement : %s\n",
			ouiNon(o.Add), ouiNon(o.Update), ouiNon(o.DryRun))
	}
	switch r.Status {
	case Refused:
		e := r.Error
		b.WriteString("Fichier refusé : rien n'a été appliqué.\n")
		fmt.Fprintf(&b, "Raison (%s", e.Code)
		if e.Reason != "" {
			fmt.Fprintf(&b, ", %s", e.Reason)
		}
		fmt.Fprintf(&b, ") : %s\n", e.Message)
	case Applied, DryRun:
		rec := r.Recovery
		switch {
		case rec.AlreadyApplied && !rec.DryRun:
			b.WriteString("Ce contenu avait déjà été appliqué à cette base : rien n'a changé cette fois. Voici le compte rendu de la première fois.\n")
		case rec.AlreadyApplied:
			b.WriteString("Aperçu seulement, d'un contenu déjà appliqué à cette base : rien n'a changé.\n")
		case rec.DryRun:
			b.WriteString("Aperçu seulement : rien n'a été appliqué. Pour appliquer, déposez le fichier à nouveau sans x-amz-meta-dry-run (ou avec false).\n")
		default:
			b.WriteString("Appliqué.\n")
		}
		added, updated := "ajoutés", "mis à jour"
		if rec.DryRun {
			added, updated = "à ajouter", "à mettre à jour"
		}
		fmt.Fprintf(&b, "Utilisateurs : %d %s, %d %s, %d inchangés, %d laissés de côté, %d rejetés.\n",
			rec.Added, added, rec.Updated, updated, rec.Unchanged, rec.Skipped, len(rec.Rejected))
		for i, rj := range rec.Rejected {
			if i == 20 {
				fmt.Fprintf(&b, "… et %d autres rejets (voir le compte rendu JSON).\n", len(rec.Rejected)-i)
				break
			}
			b.WriteString("- ")
			if rj.Entry != "" {
				b.WriteString(rj.Entry)
				if rj.Line > 0 {
					fmt.Fprintf(&b, ", ligne %d", rj.Line)
				}
				b.WriteString(" ")
			}
			if rj.Login != "" {
				fmt.Fprintf(&b, "(%s) ", rj.Login)
			}
			fmt.Fprintf(&b, ": %s\n", rj.Message)
		}
		if rec.Truncated {
			b.WriteString("Les listes du compte rendu sont tronquées ; les nombres sont complets.\n")
		}
		fmt.Fprintf(&b, "Identifiant de la récupération : %s\n", rec.ID)
	}
	return strings.TrimRight(b.String(), "\n")
}

func ouiNon(v bool) string {
	if v {
		return "oui"
	}
	return "non"
}
