package sesame

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// SafeCell escapes a CSV cell against formula injection: a cell that a
// spreadsheet would read as a formula (it starts with =, +, -, @, a tab or
// a carriage return) gets a leading apostrophe (OWASP's advice).
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes records as CSV for spreadsheets: a UTF-8 byte-order
// mark (so that accents show), semicolons (the French separator), CRLF,
// and every cell escaped with SafeCell.
func WriteCSV(w io.Writer, header []string, rows func(yield func([]string) bool)) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	safe := func(r []string) []string {
		out := make([]string, len(r))
		for i, c := range r {
			out[i] = SafeCell(c)
		}
		return out
	}
	if err := cw.Write(safe(header)); err != nil {
		return err
	}
	var err error
	rows(func(r []string) bool {
		err = cw.Write(safe(r))
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// MaxJournalExport is the most entries one CSV export holds (about 4 MB,
// under the 6 MB a Lambda function may answer); a larger selection is
// refused, asking for a shorter period.
const MaxJournalExport = 20000

// JournalCSVHeader names the columns of the journal's CSV export.
var JournalCSVHeader = []string{"Date (UTC)", "Événement", "Code", "Auteur", "Concerné", "Mode", "Connexions", "Motif", "Détail", "Adresse"}

// JournalCSVRow is one entry as a CSV row (unescaped; WriteCSV escapes).
func JournalCSVRow(e JournalEntry) []string {
	mode := ""
	if e.Mode != "" {
		mode = e.Mode.Label()
	}
	pool := ""
	if e.Pool != "" {
		pool = e.Pool.Label()
	}
	return []string{e.At.UTC().Format(time.RFC3339), e.Event.Label(), string(e.Event), e.Actor, e.Subject, mode, pool, e.Reason, e.Detail, e.Address}
}

// ExportJournal writes the caller's base's journal selected by q (its
// cursor and page size aside), newest first, as CSV (spr.journal). It
// reads the whole selection before writing, so that a refusal
// (CodeExportTooLarge) writes nothing.
func (s *Service) ExportJournal(ctx context.Context, token string, q JournalQuery, w io.Writer) error {
	cur, err := s.requireAny(ctx, token, ActionSPRJournal)
	if err != nil {
		return err
	}
	q.Before, q.Limit = "", 1000
	var all []JournalEntry
	for {
		page, err := s.Store.ListJournal(ctx, cur.Session.Base(), q)
		if err != nil {
			return fmt.Errorf("export journal: %w", err)
		}
		all = append(all, unexpired(page.Entries, s.now())...)
		if len(all) > MaxJournalExport {
			return &Error{Code: CodeExportTooLarge, Message: fmt.Sprintf(
				"La sélection compte plus de %d entrées : choisissez une période plus courte ou un filtre.", MaxJournalExport)}
		}
		if page.Next == "" {
			break
		}
		q.Before = page.Next
	}
	return WriteCSV(w, JournalCSVHeader, func(yield func([]string) bool) {
		for _, e := range all {
			if !yield(JournalCSVRow(e)) {
				return
			}
		}
	})
}
