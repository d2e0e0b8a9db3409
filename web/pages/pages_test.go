package pages_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/web/pages"
)

// The committed files of web/static are what Generate writes: a page
// edited by hand, or a label changed in the domain without `go generate
// ./web`, fails here.
func TestStaticIsGenerated(t *testing.T) {
	files, err := pages.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(pages.Site)+1 {
		t.Errorf("Generate wrote %d files, want the %d pages and %s", len(files), len(pages.Site), pages.LabelsFile)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "static", name))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./web)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("web/static/%s differs from what web/pages generates: run go generate ./web\n%s", name, firstDiff(string(got), string(want)))
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n  committed: " + a + "\n  generated: " + b
		}
	}
	return ""
}

// libelles.js carries each label of the domain, with the page's
// typography, and each kind's profile mode.
func TestLabelsComeFromTheDomain(t *testing.T) {
	js := string(pages.Labels())
	var wants []string
	for _, m := range sesame.Modes {
		wants = append(wants, `"`+string(m)+`": "`+m.Label()+`"`)
	}
	for _, p := range sesame.Pools {
		wants = append(wants, `"`+string(p)+`": "`+p.Label()+`"`)
	}
	_, profileModes, _ := strings.Cut(js, "profileModes: Object.freeze({")
	profileModes, _, _ = strings.Cut(profileModes, "})")
	for _, k := range sesame.Kinds {
		wants = append(wants, `"`+string(k)+`": "`+k.Label()+`"`)
		line := `"` + string(k) + `": "` + string(k.ProfileMode()) + `"`
		if has := strings.Contains(profileModes, `"`+string(k)+`":`); has != (k.ProfileMode() != "") || has && !strings.Contains(profileModes, line) {
			t.Errorf("profileModes: kind %s has profile mode %q in Go, not in libelles.js:%s", k, k.ProfileMode(), profileModes)
		}
	}
	for _, r := range sesame.EndReasons {
		wants = append(wants, `"`+string(r)+`": "`+pages.Typography(r.Message())+`"`)
	}
	for _, e := range sesame.Events {
		wants = append(wants, `"`+string(e)+`": "`+pages.Typography(e.Label())+`"`)
	}
	for _, w := range wants {
		if !strings.Contains(js, w) {
			t.Errorf("libelles.js lacks %s", w)
		}
	}
}

func TestTypography(t *testing.T) {
	for in, want := range map[string]string{
		"l'établissement : fermé ?": "l\u2019établissement\u00a0: fermé\u00a0?",
		"Vous êtes déconnecté.":     "Vous êtes déconnecté.",
	} {
		if got := pages.Typography(in); got != want {
			t.Errorf("Typography(%q) = %q, want %q", in, got, want)
		}
	}
}
