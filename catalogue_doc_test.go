package sesame_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// TestCatalogueMatchesPermissionsDoc compares the catalogue, row by row and
// mark by mark, with the table of shared/PERMISSIONS.md that it encodes.
func TestCatalogueMatchesPermissionsDoc(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "shared", "PERMISSIONS.md"))
	testenv.Require(t, "shared/PERMISSIONS.md", err)
	defer f.Close()
	cols := []struct {
		m sesame.Mode
		x sesame.Access
	}{{sesame.ModeVieScolaire, sesame.Modify}, {sesame.ModeTeacher, sesame.Modify}, {sesame.ModeAdmin, sesame.Modify}, {sesame.ModeAdmin, sesame.Consult}}
	seen := map[string]bool{}
	rows, spr := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(strings.Trim(strings.TrimSpace(sc.Text()), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case len(cells) == 8 && strings.HasPrefix(cells[1], "`"):
			rows++
			no, err := strconv.Atoi(cells[0])
			slug := strings.Trim(cells[1], "`")
			a, ok := sesame.LookupAction(slug)
			if err != nil || !ok {
				t.Errorf("row %q: action %s not in the catalogue", cells[0], slug)
				continue
			}
			seen[slug] = true
			if a.No != no || a.Category != cells[2] || a.Label != cells[3] || a.SPROnly() {
				t.Errorf("%s: catalogue %d %q %q, document %d %q %q", slug, a.No, a.Category, a.Label, no, cells[2], cells[3])
			}
			for i, c := range cols {
				want := cells[4+i] == "✓"
				if cells[4+i] != "✓" && cells[4+i] != "✗" {
					t.Fatalf("%s: unreadable mark %q", slug, cells[4+i])
				}
				if a.AllowedIn(c.m, c.x) != want {
					t.Errorf("%s in %s/%s: catalogue %v, document %v", slug, c.m, c.x, !want, want)
				}
			}
		case len(cells) == 2 && strings.HasPrefix(cells[0], "`spr."):
			spr++
			slug := strings.Trim(cells[0], "`")
			a, ok := sesame.LookupAction(slug)
			if !ok || !a.SPROnly() || a.Label != cells[1] {
				t.Errorf("SPR-only %s: catalogue %+v, document %q", slug, a, cells[1])
			}
			seen[slug] = true
		}
	}
	if rows != 97 || spr != 6 {
		t.Fatalf("read %d rows and %d SPR-only actions from the document, want 97 and 6", rows, spr)
	}
	for _, a := range sesame.Actions() {
		if !seen[a.Slug] {
			t.Errorf("%s is in the catalogue but not in the document", a.Slug)
		}
	}
}
