package actionloop

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps what a runtime image is built from on the standard
// library and the project's own small packages, so the image stays small:
// actionloop and the wire format on pkg/whisk alone, run authentication on
// nothing, the image server on those four. The Knative platform imports
// the wire format and run authentication too, and must not pull in the
// rest.
func TestImports(t *testing.T) {
	const mod = "github.com/kwhisk/kwhisk/"
	allowed := map[string][]string{
		".":                      {mod + "pkg/whisk"},
		"../runtime/wire":        {mod + "pkg/whisk"},
		"../runtime/runauth":     {},
		"../runtime/imageserver": {mod + "pkg/whisk", mod + "pkg/actionloop", mod + "pkg/runtime/wire", mod + "pkg/runtime/runauth"},
	}
	for dir, ok := range allowed {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("%s has no Go files", dir)
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
				if strings.Contains(first, ".") && !slices.Contains(ok, path) {
					t.Errorf("%s imports %s; it may import only the standard library and %s", name, path, strings.Join(ok, ", "))
				}
			}
		}
	}
}
