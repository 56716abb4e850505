package compare

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// The "code complexity" row counts, at run time, the lines of the code a
// user writes for the same job (consume a topic with concurrent handlers
// and commit) in each approach, from the sources in this repository. Only
// non-blank lines that are not comments count. The handler's own work is
// left out everywhere: it is the same job in all four.
//
// A region is one of:
//   - marker comments `// compare:loc begin <name>` ... `// compare:loc end`
//     (every pair of that name in the file, the marker lines excluded);
//   - Go declarations by name ("newPool", "pool.submit" for a method), the
//     whole declaration, for files this package may not edit;
//   - an anchored line range (From, To: prefixes of the trimmed lines, To
//     on the same indentation as From), for the Java harness.
//
// Whatever a region names must be found: a missing marker, declaration or
// anchor is an error, never a count of 0.

// Region is one piece of counted source.
type Region struct {
	File   string   // relative to the module root
	Marker string   // marker name
	Decls  []string // Go declarations
	From   string   // first line (trimmed prefix)
	To     string   // last line (trimmed prefix, same indentation as From)
}

// LOCSpec is what one approach's count is made of.
type LOCSpec struct {
	Approach string
	What     string
	Regions  []Region
}

// LOC is one approach's counted lines.
type LOC struct {
	Approach string   `json:"approach"`
	What     string   `json:"what"`
	Lines    int      `json:"lines"`
	Regions  []string `json:"regions"` // file:first-last of every counted range
}

// The four approaches of the table's columns.
const (
	Naive  = "naive loop"
	Manual = "manual loop"
)

// LOCSpecs are the counted regions. The lab's loops and PC's harness are
// other engineers' files: they are counted by declaration and by anchor
// rather than by markers placed in them.
var LOCSpecs = []LOCSpec{
	{Naive, "commit-before: poll, commit, hand the batch to a worker pool (the lab's naive loop, at-most-once)", []Region{
		{File: "internal/lab/strategy/commit_before.go", Decls: []string{"commitBefore"}},
		{File: "internal/lab/strategy/strategy.go", Decls: []string{"pollLoop", "pool", "job", "newPool", "pool.submit", "pool.close"}},
	}},
	{Manual, "commit-after-batch: poll, run the batch on a worker pool, wait for all of it, commit (at-least-once, no key order)", []Region{
		{File: "internal/lab/strategy/commit_after_batch.go", Decls: []string{"commitAfterBatch"}},
		{File: "internal/lab/strategy/strategy.go", Decls: []string{"pollLoop", "pool", "job", "newPool", "pool.submit", "pool.close"}},
	}},
	{Kpar, "examples/keyed: parallel.New with key order and a concurrency, Run, Close", []Region{
		{File: "examples/keyed/main.go", Marker: "kpar"},
	}},
	{PC, "PC's harness: KafkaConsumer properties, options builder, processor, subscribe, poll, closeDrainFirst", []Region{
		{File: "internal/confluentpc/assets/Harness.java", From: "Properties props = new Properties();",
			To: "ParallelStreamProcessor<byte[], byte[]> pc = ParallelStreamProcessor.createEosStreamProcessor(opts);"},
		{File: "internal/confluentpc/assets/Harness.java", From: "pc.subscribe(", To: "pc.poll(ctx -> {"},
		{File: "internal/confluentpc/assets/Harness.java", From: "pc.closeDrainFirst();", To: "pc.closeDrainFirst();"},
	}},
}

// ErrLOCRegion: a region's marker, declaration or anchor is not in its file.
var ErrLOCRegion = errors.New("lines of code: region not found")

// CountLOC counts every spec's regions under root.
func CountLOC(root string, specs []LOCSpec) ([]LOC, error) {
	var out []LOC
	for _, s := range specs {
		l := LOC{Approach: s.Approach, What: s.What}
		for _, rg := range s.Regions {
			src, err := os.ReadFile(filepath.Join(root, rg.File))
			if err != nil {
				return nil, fmt.Errorf("lines of code of %s: %w", s.Approach, err)
			}
			spans, err := rg.spans(src)
			if err != nil {
				return nil, fmt.Errorf("lines of code of %s: %w", s.Approach, err)
			}
			lines := strings.Split(string(src), "\n")
			for _, sp := range spans {
				l.Lines += countCode(lines[sp[0]-1 : sp[1]])
				l.Regions = append(l.Regions, fmt.Sprintf("%s:%d-%d", rg.File, sp[0], sp[1]))
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// countCode counts the non-blank lines that are not only a comment.
func countCode(lines []string) int {
	n := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*") {
			continue
		}
		n++
	}
	return n
}

// spans returns the region's 1-based inclusive line ranges in src.
func (rg Region) spans(src []byte) ([][2]int, error) {
	switch {
	case rg.Marker != "":
		return markerSpans(rg.File, string(src), rg.Marker)
	case len(rg.Decls) > 0:
		return declSpans(rg.File, src, rg.Decls)
	default:
		return anchorSpan(rg.File, string(src), rg.From, rg.To)
	}
}

const (
	markerBegin = "// compare:loc begin "
	markerEnd   = "// compare:loc end"
)

func markerSpans(file, src, name string) ([][2]int, error) {
	var out [][2]int
	begin := 0
	for i, l := range strings.Split(src, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == markerBegin+name:
			if begin != 0 {
				return nil, fmt.Errorf("%s:%d: %q opened again before %q", file, i+1, t, markerEnd)
			}
			begin = i + 1
		case t == markerEnd && begin != 0:
			if i+1 > begin+1 {
				out = append(out, [2]int{begin + 1, i})
			}
			begin = 0
		}
	}
	if begin != 0 {
		return nil, fmt.Errorf("%w: %s:%d: %q has no %q", ErrLOCRegion, file, begin, markerBegin+name, markerEnd)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no %q ... %q in %s", ErrLOCRegion, markerBegin+name, markerEnd, file)
	}
	return out, nil
}

func declSpans(file string, src []byte, names []string) ([][2]int, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return nil, err
	}
	found := map[string][2]int{}
	span := func(n ast.Node) [2]int {
		return [2]int{fset.Position(n.Pos()).Line, fset.Position(n.End()).Line}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				t := d.Recv.List[0].Type
				if st, ok := t.(*ast.StarExpr); ok {
					t = st.X
				}
				if id, ok := t.(*ast.Ident); ok {
					name = id.Name + "." + name
				}
			}
			found[name] = span(d)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					sp := span(ts)
					if len(d.Specs) == 1 {
						sp = span(d)
					}
					found[ts.Name.Name] = sp
				}
			}
		}
	}
	var out [][2]int
	for _, n := range names {
		sp, ok := found[n]
		if !ok {
			return nil, fmt.Errorf("%w: no declaration %s in %s", ErrLOCRegion, n, file)
		}
		out = append(out, sp)
	}
	return out, nil
}

func anchorSpan(file, src, from, to string) ([][2]int, error) {
	lines := strings.Split(src, "\n")
	indent := func(l string) string { return l[:len(l)-len(strings.TrimLeft(l, " \t"))] }
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), from) {
			continue
		}
		for j := i; j < len(lines); j++ {
			if indent(lines[j]) == indent(l) && strings.HasPrefix(strings.TrimSpace(lines[j]), to) {
				return [][2]int{{i + 1, j + 1}}, nil
			}
		}
		return nil, fmt.Errorf("%w: %s:%d: no line %q after %q on its indentation", ErrLOCRegion, file, i+1, to, from)
	}
	return nil, fmt.Errorf("%w: no line %q in %s", ErrLOCRegion, from, file)
}

// FindModuleRoot walks up from dir to the go.mod of module
// github.com/kpar/kpar: the sources the lines-of-code row counts.
func FindModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module github.com/kpar/kpar\n") {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no kpar source tree (go.mod of github.com/kpar/kpar) at or above %s: run from the repository or give --source-root", dir)
		}
		d = parent
	}
}
