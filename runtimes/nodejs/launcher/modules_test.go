package launcher

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// node runs script with NODE_PATH=modules from a folder of its own (so
// nothing but NODE_PATH can resolve the package) and returns what it
// printed; it skips without node.
func node(t *testing.T, modules, script string, env ...string) (string, error) {
	t.Helper()
	exe, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	cmd := exec.Command(exe, "-e", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(withNodePath([]string{"PATH=" + os.Getenv("PATH")}, modules), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestBundledClient(t *testing.T) {
	if !Bundled() {
		t.Skip("built without the bundled openwhisk package: `make node-client` installs it")
	}
	dir := t.TempDir()
	mods, err := InstallModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mods != filepath.Join(dir, ModulesDir) {
		t.Fatalf("modules in %s, want %s", mods, filepath.Join(dir, ModulesDir))
	}
	// openwhisk() with no arguments takes the gateway and the key from
	// the environment, as in an action with provide-api-key.
	out, err := node(t, mods, `const ow = require('openwhisk')();
console.log(typeof ow.actions.invoke, typeof ow.triggers.invoke, typeof ow.activations.get, require.resolve('openwhisk').startsWith(process.env.NODE_PATH))`,
		"__OW_API_HOST=http://127.0.0.1:1", "__OW_API_KEY=u:k")
	if err != nil {
		t.Fatalf("require('openwhisk'): %v\n%s", err, out)
	}
	if got := strings.TrimSpace(out); got != "function function function true" {
		t.Fatalf("node printed %q", got)
	}
}

func TestMissingClient(t *testing.T) {
	files, err := moduleFiles(fstest.MapFS{"bundled/package.json": {Data: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	mods, err := installFiles(t.TempDir(), files)
	if err != nil {
		t.Fatal(err)
	}
	out, err := node(t, mods, `try { require('openwhisk'); console.log('loaded') } catch (e) { console.log(e.message) }`)
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(out); got != Missing {
		t.Fatalf("require('openwhisk') without the bundle: %q, want %q", got, Missing)
	}
}

func TestInstallFilesOnce(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{"a/package.json": []byte(`{"main":"i.js"}`), "a/i.js": []byte("module.exports = 1;\n")}
	mods, err := installFiles(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(filepath.Join(mods, "a", "i.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := installFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(mods, "a", "i.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the same packages were written again")
	}

	files["a/i.js"] = []byte("module.exports = 2;\n")
	if _, err := installFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(mods, "a", "i.js")); string(b) != "module.exports = 2;\n" {
		t.Errorf("changed packages not rewritten: %q", b)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != ModulesDir {
		t.Errorf("left in %s: %v", dir, ents)
	}
}

func TestWithNodePath(t *testing.T) {
	for _, c := range []struct{ env, want []string }{
		{[]string{"PATH=/bin"}, []string{"PATH=/bin", "NODE_PATH=/m"}},
		{[]string{"NODE_PATH=/x:/y", "PATH=/bin"}, []string{"PATH=/bin", "NODE_PATH=/m:/x:/y"}},
		{[]string{"NODE_PATH="}, []string{"NODE_PATH=/m"}},
	} {
		if got := withNodePath(c.env, "/m"); !slices.Equal(got, c.want) {
			t.Errorf("withNodePath(%q) = %q, want %q", c.env, got, c.want)
		}
	}
}
