// Command fetch installs the pinned axe-core into the project's cache
// (package axe), for the browser tests' accessibility audit:
//
//	go run ./web/internal/axe/cmd/fetch
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/web/internal/axe"
)

func main() {
	dir, err := axe.DefaultCacheDir()
	if err == nil {
		var path string
		if path, err = axe.Install(context.Background(), dir); err == nil {
			fmt.Println(path)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "axe-core :", err)
	os.Exit(1)
}
