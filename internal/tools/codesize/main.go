// Command codesize lists the repository's non-test Go files over a line
// limit and functions over a length limit (make test runs its test, which
// holds the tree to them), with the total of non-test lines outside the
// library and examples.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kpar/kpar/internal/tools/codesize/size"
)

func main() {
	root := flag.String("root", ".", "repository root")
	maxFile := flag.Int("max-file", size.MaxFileLines, "most lines of a non-test file")
	maxFunc := flag.Int("max-func", size.MaxFuncLines, "most lines of a function")
	flag.Parse()
	r, err := size.Measure(*root, *maxFile, *maxFunc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codesize:", err)
		os.Exit(2)
	}
	for _, o := range r.Over {
		fmt.Println(o)
	}
	fmt.Printf("toolkit: %d non-test lines in %d files (library and examples apart: %d); %d over the limits\n", r.ToolkitLines, r.ToolkitFiles, r.OtherLines, len(r.Over))
}
