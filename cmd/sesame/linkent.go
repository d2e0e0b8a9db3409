package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sesame-ecole/sesame"
)

// sesame users link-ent: the accounts' ENT identifiers (identifiant ENT),
// in bulk, from a CSV file with a header line naming the columns login and
// entId (or identifiantENT), separated by commas or semicolons (as a
// spreadsheet saves it). An empty entId unlinks the account.

// Limits of a link file.
const (
	maxLinkFile  = 8 << 20
	maxLinkLines = 50_000
)

func cmdUsersLinkENT(ctx context.Context, e env, args []string) error {
	f := newFlags("users link-ent")
	b := f.base()
	path := f.String("csv", "", "fichier CSV (login;entId), - pour l'entrée standard")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("uai", "year", "csv"); err != nil {
		return err
	}
	in := e.stdin
	if *path != "-" {
		fh, err := os.Open(*path)
		if err != nil {
			return sesame.Invalid("csv", "Le fichier « %s » ne peut pas être lu : %v", *path, errors.Unwrap(err))
		}
		defer fh.Close()
		in = fh
	}
	links, err := readENTLinks(in)
	if err != nil {
		return err
	}
	ctx, svc, done, err := f.operator(ctx, e, b)
	if err != nil {
		return err
	}
	defer done()
	rep, err := svc.LinkENT(ctx, "", links)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Identifiants ENT — comptes modifiés : %d, inchangés : %d ; lignes refusées : %d.\n",
		rep.Linked, rep.Unchanged, len(rep.Rejected))
	for _, r := range rep.Rejected {
		fmt.Fprintf(e.stdout, "  ligne %d (%s) : %s [%s]\n", r.Line, r.Login, r.Message, r.Code)
	}
	return nil
}

// readENTLinks reads a link file: a header, then login and entId on each
// line. A file that cannot be read as such is refused whole.
func readENTLinks(r io.Reader) ([]sesame.ENTLink, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxLinkFile+1))
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	if len(data) > maxLinkFile {
		return nil, sesame.Invalid("csv", "Le fichier dépasse %d Mio.", maxLinkFile>>20)
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	first, _, _ := strings.Cut(text, "\n")
	cr := csv.NewReader(strings.NewReader(text))
	if strings.Count(first, ";") > strings.Count(first, ",") {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, sesame.Invalid("csv", "Le fichier est vide ou n'est pas un CSV : la première ligne doit nommer les colonnes login et entId.")
	}
	col := map[string]int{}
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "login", "identifiant":
			col["login"] = i
		case "entid", "identifiantent", "identifiant ent":
			col["entId"] = i
		}
	}
	if len(col) != 2 {
		return nil, sesame.Invalid("csv", "La première ligne doit nommer les colonnes login et entId (trouvé : %s).", strings.Join(header, ", "))
	}
	var links []sesame.ENTLink
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return links, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, sesame.Invalid("csv", "Ligne %d : ce n'est pas une ligne CSV valable.", pe.StartLine)
		} else if err != nil {
			return nil, fmt.Errorf("read links: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(links) == maxLinkLines {
			return nil, sesame.Invalid("csv", "Le fichier compte plus de %d lignes : découpez-le.", maxLinkLines)
		}
		cell := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if cell("login") == "" && cell("entId") == "" {
			continue // a blank line of a spreadsheet
		}
		links = append(links, sesame.ENTLink{Line: line, Login: cell("login"), ENTID: cell("entId")})
	}
}
