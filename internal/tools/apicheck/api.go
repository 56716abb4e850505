package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// DumpAll returns the exported API of every package of packages under the
// repository root, each sub-package's identifiers after its prefix, sorted.
func DumpAll(root string) (string, error) {
	var all []string
	for _, p := range packages {
		api, err := Dump(filepath.Join(root, p.dir))
		if err != nil {
			return "", err
		}
		for _, l := range strings.Split(strings.TrimSuffix(api, "\n"), "\n") {
			all = append(all, p.prefix+l)
		}
	}
	sort.Strings(all)
	return strings.Join(all, "\n") + "\n", nil
}

// Dump returns the exported API of the package in dir (a module's root
// package), one identifier a line, sorted: "<key>\t<declaration>", where key
// is Name, Type.Method or Type.Field. The package is type-checked from the
// compiler's export data (go list -export), with GOPROXY=off so that it never
// needs the network.
func Dump(dir string) (string, error) {
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -export in %s: %w: %s", dir, err, stderr.String())
	}
	exports := map[string]string{}
	var path string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, file, _ := strings.Cut(l, "\t")
		exports[p], path = file, p // the package itself comes last
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(p string) (io.ReadCloser, error) {
		f, ok := exports[p]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", p)
		}
		return os.Open(f)
	})
	pkg, err := imp.Import(path)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", path, err)
	}
	return strings.Join(lines(pkg), "\n") + "\n", nil
}

// lines lists pkg's exported identifiers with their declarations.
func lines(pkg *types.Package) []string {
	q := types.RelativeTo(pkg)
	var out []string
	add := func(key, decl string) { out = append(out, key+"\t"+decl) }
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if !obj.Exported() {
			continue
		}
		if c, ok := obj.(*types.Const); ok { // the value is part of the API (header names on the wire)
			add(name, types.ObjectString(obj, q)+" = "+c.Val().ExactString())
			continue
		}
		tn, ok := obj.(*types.TypeName)
		if !ok {
			add(name, types.ObjectString(obj, q))
			continue
		}
		switch u := tn.Type().Underlying().(type) {
		case *types.Struct:
			add(name, "type "+name+" struct")
			for i := range u.NumFields() {
				if f := u.Field(i); f.Exported() {
					add(name+"."+f.Name(), "field "+types.TypeString(f.Type(), q))
				}
			}
		case *types.Interface:
			unexp := ""
			for i := range u.NumMethods() {
				if m := u.Method(i); m.Exported() {
					add(name+"."+m.Name(), "interface method "+types.TypeString(m.Type(), q))
				} else {
					unexp = " (with unexported methods)"
				}
			}
			add(name, "type "+name+" interface"+unexp)
		default:
			add(name, "type "+name+" "+types.TypeString(u, q))
		}
		if _, isIface := tn.Type().Underlying().(*types.Interface); isIface {
			continue
		}
		ms := types.NewMethodSet(types.NewPointer(tn.Type()))
		for i := range ms.Len() {
			m := ms.At(i).Obj()
			if !m.Exported() {
				continue
			}
			recv := "*" + name
			if _, ptr := m.Type().(*types.Signature).Recv().Type().(*types.Pointer); !ptr {
				recv = name
			}
			add(name+"."+m.Name(), "method ("+recv+") "+types.TypeString(m.Type(), q))
		}
	}
	sort.Strings(out)
	return out
}

// Diff compares a recorded API with the current one: identifiers removed or
// whose declaration changed (incompatible for a caller), and added ones.
func Diff(recorded, current string) (changed, added []string) {
	rec, cur := parse(recorded), parse(current)
	for k, v := range rec {
		if c, ok := cur[k]; !ok || c != v {
			changed = append(changed, k)
		}
	}
	for k := range cur {
		if _, ok := rec[k]; !ok {
			added = append(added, k)
		}
	}
	sort.Strings(changed)
	sort.Strings(added)
	return changed, added
}

func parse(api string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(api))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "\t"); ok {
			m[k] = v
		}
	}
	return m
}

// Unmentioned returns the identifiers of changed that the changelog's
// "## Unreleased" section does not name in backquotes, as `Key` or as the
// type or function it belongs to (`Type`), a sub-package's with its name
// (`sharegroup.Set`; `sharegroup` alone does not cover them).
func Unmentioned(changelog string, changed []string) []string {
	sec := unreleased(changelog)
	var out []string
	for _, k := range changed {
		pkg, rest := "", k
		if first, after, ok := strings.Cut(k, "."); ok && first != "" && unicode.IsLower(rune(first[0])) {
			pkg, rest = first+".", after
		}
		top, _, _ := strings.Cut(rest, ".")
		if !strings.Contains(sec, "`"+k+"`") && !strings.Contains(sec, "`"+pkg+top+"`") {
			out = append(out, k)
		}
	}
	return out
}

// unreleased is the text of the changelog's "## Unreleased" section.
func unreleased(changelog string) string {
	_, after, ok := strings.Cut(changelog, "\n## Unreleased")
	if !ok {
		return ""
	}
	if i := strings.Index(after, "\n## "); i >= 0 {
		after = after[:i]
	}
	return after
}
