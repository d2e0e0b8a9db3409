// Command webgen writes the generated files of web/static: the HTML pages,
// stamped from web/pages, and libelles.js, the domain's labels. It runs
// from web/ by `go generate ./web`:
//
//	go run ./cmd/webgen -dir static
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sesame-ecole/sesame/web/pages"
)

func main() {
	dir := flag.String("dir", "static", "le dossier des pages (web/static)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "webgen :", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := pages.Generate()
	if err != nil {
		return err
	}
	for _, n := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return err
		}
		fmt.Println(filepath.Join(dir, n))
	}
	return nil
}
