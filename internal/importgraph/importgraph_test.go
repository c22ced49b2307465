// Package importgraph pins kwhisk's intended import graph: every package
// of the module and the kwhisk packages it may import. A change that adds
// an arrow not listed here (an arrow back, a platform importing the API, a
// runtime image pulling in the gateway) fails TestImportGraph; a new
// package fails until it is given its place. Test files are not checked:
// tests may wire anything.
package importgraph

import (
	"go/build"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/kwhisk/kwhisk/"

// allowed lists, for each package (relative to the module), the module
// packages it may import. Layers, from the bottom: whisk (stdlib only);
// the seams (store, platform, the runtime wire format); their
// implementations; entity and activation over them; events over
// activation; api over both; controlplane wiring; gateway choosing the
// concrete parts; cmd. The runtime side (actionloop, imageserver,
// runtimes/...) never reaches into the control plane.
var allowed = map[string][]string{
	"cmd/kwhisk": {"pkg/config", "pkg/gateway"},

	"pkg/whisk":   {},
	"pkg/run":     {},
	"pkg/logging": {},
	"pkg/tracing": {"pkg/logging"},
	"pkg/config":  {"pkg/logging", "pkg/whisk"},
	"pkg/auth":    {"pkg/whisk"},
	"pkg/kube":    {"pkg/whisk"},
	// metrics owns the collectors; the parts that record declare their
	// own recorder interfaces, so only the gateway imports it.
	"pkg/metrics": {"pkg/whisk"},
	// The console's embedded build and its file server (stdlib only).
	"pkg/console": {},
	// net/http/pprof on a loopback listener (--debug-addr).
	"pkg/debugserver": {},

	"pkg/store":                 {"pkg/whisk"},
	"pkg/store/sqlite":          {"pkg/store", "pkg/store/internal/commitq", "pkg/whisk"},
	"pkg/store/postgres":        {"pkg/store", "pkg/store/internal/commitq", "pkg/whisk"},
	"pkg/store/postgres/pgtest": {},
	"pkg/store/retention":       {},
	"pkg/store/storetest":       {"pkg/store", "pkg/whisk"},

	"pkg/platform":              {"pkg/whisk"},
	"pkg/platform/platformtest": {"pkg/platform", "pkg/whisk", "runtimes/go/launcher"},
	"pkg/platform/local":        {"pkg/actionloop", "pkg/logging", "pkg/platform", "pkg/whisk", "runtimes", "runtimes/family"},
	"pkg/platform/knative":      {"pkg/kube", "pkg/logging", "pkg/platform", "pkg/runtime/runauth", "pkg/runtime/wire", "pkg/whisk"},

	"pkg/actionloop":          {"pkg/whisk"},
	"pkg/runtime/wire":        {"pkg/whisk"},
	"pkg/runtime/runauth":     {},
	"pkg/runtime/imageserver": {"pkg/actionloop", "pkg/runtime/runauth", "pkg/runtime/wire", "pkg/whisk"},

	"pkg/entity":     {"pkg/platform", "pkg/store", "pkg/whisk"},
	"pkg/apigw":      {},
	"pkg/activation": {"pkg/logging", "pkg/platform", "pkg/tracing", "pkg/whisk"},
	"pkg/events":     {"pkg/activation", "pkg/auth", "pkg/logging", "pkg/platform", "pkg/store", "pkg/tracing", "pkg/whisk"},
	"pkg/brokers":    {"pkg/events", "pkg/kube", "pkg/platform/knative", "pkg/whisk"},
	"pkg/api":        {"pkg/activation", "pkg/apigw", "pkg/auth", "pkg/entity", "pkg/events", "pkg/logging", "pkg/platform", "pkg/runtime/wire", "pkg/store", "pkg/tracing", "pkg/whisk"},

	"pkg/controlplane": {"pkg/activation", "pkg/api", "pkg/auth", "pkg/console", "pkg/entity", "pkg/events", "pkg/store", "pkg/whisk"},
	"pkg/gateway": {"pkg/api", "pkg/auth", "pkg/brokers", "pkg/config", "pkg/controlplane", "pkg/events", "pkg/kube",
		"pkg/debugserver", "pkg/logging", "pkg/metrics", "pkg/platform", "pkg/platform/knative", "pkg/platform/local", "pkg/run", "pkg/store", "pkg/store/postgres", "pkg/store/retention", "pkg/store/sqlite", "pkg/tracing", "pkg/whisk"},

	"runtimes":                 {"runtimes/family", "runtimes/go/launcher", "runtimes/native/launcher", "runtimes/nodejs/launcher", "runtimes/python/launcher"},
	"runtimes/family":          {"pkg/actionloop"},
	"runtimes/imagemain":       {"pkg/runtime/imageserver", "runtimes/family"},
	"runtimes/go/launcher":     {"pkg/actionloop", "runtimes/family"},
	"runtimes/native/launcher": {"pkg/actionloop", "runtimes/family"},
	"runtimes/nodejs/launcher": {"pkg/actionloop", "runtimes/family"},
	"runtimes/python/launcher": {"pkg/actionloop", "runtimes/family"},
	"runtimes/go":              {"runtimes/go/launcher", "runtimes/imagemain"},
	"runtimes/native":          {"runtimes/imagemain", "runtimes/native/launcher"},
	"runtimes/nodejs":          {"runtimes/imagemain", "runtimes/nodejs/launcher"},
	"runtimes/nodejs/22":       {"runtimes/imagemain", "runtimes/nodejs/launcher"},
	"runtimes/python":          {"runtimes/imagemain", "runtimes/python/launcher"},
	"runtimes/python/312":      {"runtimes/imagemain", "runtimes/python/launcher"},

	// Test-only packages: their non-test files import nothing of ours
	// but each other and pgtest.
	"test/bench":          {},
	"test/pgserve":        {"pkg/store/postgres/pgtest"},
	"test/kube":           {},
	"test/kube/apiserver": {},
	"test/kube/ingress":   {},
	"test/kube/lab":       {},
	"test/kube/podrunner": {"test/kube/apiserver", "test/kube/lab"},
}

func TestImportGraph(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || name == "third_party" || name == "internal") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		want, known := allowed[rel]
		if !known {
			t.Errorf("package %s is not in the import graph: give it its place in allowed", rel)
			return nil
		}
		ok := map[string]bool{}
		for _, w := range want {
			ok[w] = true
		}
		var extra []string
		for _, imp := range pkg.Imports {
			if dep, ours := strings.CutPrefix(imp, module); ours && !ok[dep] {
				extra = append(extra, dep)
			}
		}
		sort.Strings(extra)
		for _, dep := range extra {
			t.Errorf("%s imports %s, which the intended graph does not allow", rel, dep)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("allowed lists %s, which no longer exists", pkg)
		}
	}
}
