package actionloop

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps actionloop on the standard library and pkg/whisk, so a
// runtime image built from it stays small.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value) // the parser accepted it
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/kwhisk/kwhisk/pkg/whisk" {
				t.Errorf("%s imports %s; actionloop may import only the standard library and pkg/whisk", name, path)
			}
		}
	}
}
