// Command docs draws the pictures of docs/ from a synthesized cloud assembly:
// docs/architecture.svg and one SVG per state machine under
// docs/state-machines/, rendered by WebAssembly Graphviz (make docs).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/leadbridge/leadbridge/internal/docgen"
)

func main() {
	assembly := flag.String("assembly", "cdk.out", "the synthesized cloud assembly")
	out := flag.String("out", "docs", "where the pictures go")
	flag.Parse()
	if err := run(*assembly, *out); err != nil {
		fmt.Fprintf(os.Stderr, "docs: %v\n", err)
		os.Exit(1)
	}
}

func run(assembly, out string) error {
	a, err := docgen.LoadAssembly(assembly)
	if err != nil {
		return err
	}
	pictures, err := docgen.Pictures(a)
	if err != nil {
		return err
	}
	return docgen.WritePictures(".", out, pictures)
}
