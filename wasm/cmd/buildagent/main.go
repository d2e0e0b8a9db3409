// Command buildagent builds the browser agent into web/static/agent (see
// package wasm/agentbuild), or measures its size.
//
//	go run ./wasm/cmd/buildagent                 # build into web/static/agent
//	go run ./wasm/cmd/buildagent -out DIR -opt   # elsewhere, through wasm-opt -Oz
//	go run ./wasm/cmd/buildagent -sizes          # the sizes table of BENCHMARKS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sesame-ecole/sesame/wasm/agentbuild"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "buildagent :", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("buildagent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "web/static/agent", "dossier de sortie")
	opt := fs.Bool("opt", false, "passer le module par wasm-opt -Oz (binaryen)")
	noBrotli := fs.Bool("no-brotli", false, "ne pas écrire les .br")
	inline := fs.Bool("inline", false, "garder l'inlining du compilateur (module compressé plus gros)")
	sizes := fs.Bool("sizes", false, "mesurer : module Go vide, safejs seul et agent, bruts, gzip -9 et brotli")
	verbose := fs.Bool("v", false, "afficher les commandes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := agentbuild.Options{Dir: *out, Optimize: *opt, NoBrotli: *noBrotli, Inline: *inline}
	if *verbose {
		o.Log = stderr
	}
	if *sizes {
		dir, err := os.MkdirTemp("", "agent-sizes-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		s, err := agentbuild.Sizes(ctx, o, dir)
		if err != nil {
			return err
		}
		kb := func(n int64) string {
			if n == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f KB", float64(n)/1000)
		}
		fmt.Fprintln(stdout, "| module (GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' …) | .wasm | gzip -9 | brotli -q 11 |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|")
		for _, x := range s {
			flags := "-gcflags=all=-l"
			if x.Inline {
				flags = "(inlining on)"
			}
			fmt.Fprintf(stdout, "| %s, %s | %s | %s | %s |\n", x.Name, flags, kb(x.Raw), kb(x.Gzip), kb(x.Brotli))
		}
		for i := 0; i+2 < len(s); i += 3 {
			sj, a := s[i+1], s[i+2]
			fmt.Fprintf(stdout, "\nagent − safejs only (inlining %v): %+.1f KB raw, %+.1f KB gzip, %+.1f KB brotli",
				a.Inline, float64(a.Raw-sj.Raw)/1000, float64(a.Gzip-sj.Gzip)/1000, float64(a.Brotli-sj.Brotli)/1000)
		}
		fmt.Fprintln(stdout, "\nbudget: 640 KB brotli, 830 KB gzip")
		return nil
	}
	m, err := agentbuild.Build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s/%s : %d octets, %d en gzip, %d en brotli (%s)\n", *out, m.Wasm, m.Size, m.Gzip, m.Brotli, m.Go)
	return nil
}
