//go:build ignore

// Command doccheck enforces the project's documentation rule on every library package
// of the repository: each exported type, function, method (of an exported type),
// constant and variable has a doc comment, and that comment — or, for a grouped
// declaration, the group's — says whether the identifier is goroutine-safe ("Safe for
// concurrent use", "Loop-confined", "Not safe for concurrent use" and their variants);
// and every package, commands included, has a doc.go holding its package comment.
// Test files, testdata and generated files are skipped, and so are the identifiers of
// main packages.
//
// Run it from the repository root: go run .ci/doccheck.go [dir]. It prints one line per
// offence and exits 1 if there is any; `make lint` runs it.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// concurrency matches the sentences that answer "may I call this from any goroutine?".
var concurrency = regexp.MustCompile(`(?i)(safe for (concurrent )?use|loop-confined|concurrent use|goroutine-safe|from any goroutine)`)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	var offences []string
	packages := map[string]bool{} // directory -> has a doc.go with a package comment
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		if _, seen := packages[dir]; !seen {
			packages[dir] = false
		}
		found, hasDoc, err := checkFile(path)
		if name == "doc.go" && hasDoc {
			packages[dir] = true
		}
		offences = append(offences, found...)
		return err
	})
	dirs := make([]string, 0, len(packages))
	for dir, ok := range packages {
		if !ok {
			dirs = append(dirs, dir)
		}
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		offences = append(offences, fmt.Sprintf("%s: no doc.go holding the package comment", dir))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "doccheck:", err)
		os.Exit(2)
	}
	for _, o := range offences {
		fmt.Println(o)
	}
	if len(offences) > 0 {
		fmt.Printf("doccheck: %d offences: every exported identifier needs a doc comment saying whether it is goroutine-safe, every package a doc.go\n", len(offences))
		os.Exit(1)
	}
}

// checkFile returns the offences of one file, and whether it has a package comment.
func checkFile(path string) ([]string, bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return nil, false, err
	}
	hasDoc := f.Doc != nil
	if f.Name.Name == "main" || ast.IsGenerated(f) {
		return nil, hasDoc, nil
	}
	var out []string
	check := func(pos token.Pos, kind, name string, docs ...*ast.CommentGroup) {
		var text strings.Builder
		for _, d := range docs {
			text.WriteString(d.Text())
			text.WriteByte(' ')
		}
		doc := strings.Join(strings.Fields(text.String()), " ")
		switch {
		case doc == "":
			out = append(out, fmt.Sprintf("%s: %s %s: no doc comment", fset.Position(pos), kind, name))
		case !concurrency.MatchString(doc):
			out = append(out, fmt.Sprintf("%s: %s %s: the doc does not say whether it is goroutine-safe", fset.Position(pos), kind, name))
		}
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			kind := "func"
			if d.Recv != nil {
				kind = "method"
				if !exportedReceiver(d.Recv.List[0].Type) {
					continue
				}
			}
			check(d.Pos(), kind, d.Name.Name, d.Doc)
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						check(s.Pos(), "type", s.Name.Name, d.Doc, s.Doc, s.Comment)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							check(n.Pos(), d.Tok.String(), n.Name, d.Doc, s.Doc, s.Comment)
							break // one report per spec
						}
					}
				}
			}
		}
	}
	return out, hasDoc, nil
}

// exportedReceiver reports whether a method's receiver type is exported (T, *T, T[P]).
func exportedReceiver(t ast.Expr) bool {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}
