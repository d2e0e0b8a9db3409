// Command webobjects lists the files of the web bucket with the headers
// each must be stored with (web.Objects), one per line: key, Content-Type,
// Content-Encoding (may be empty) and Cache-Control, separated by "|".
// `make deploy-web` uploads the browser agent's files with it.
//
//	go run ./web/cmd/webobjects -dir web/static
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sesame-ecole/sesame/web"
)

func main() {
	dir := flag.String("dir", "web/static", "the folder of the web files, as built")
	flag.Parse()
	objs, err := web.Objects(os.DirFS(*dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "webobjects :", err)
		os.Exit(1)
	}
	for _, o := range objs {
		fmt.Printf("%s|%s|%s|%s\n", o.Key, o.ContentType, o.ContentEncoding, o.CacheControl)
	}
}
