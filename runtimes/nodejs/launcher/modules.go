package launcher

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// bundled holds bundled/package.json and package-lock.json, committed,
// and bundled/node_modules when `make node-client` (npm ci) ran before
// the build: the packages every Node.js action can require without
// shipping them, as OpenWhisk's Node.js runtime images bundle the
// openwhisk client. A build without npm still compiles (the directory
// always exists); its actions get Missing's message from
// require('openwhisk'). Names starting with "." or "_" are not embedded:
// the packages' .github folders and npm's own .package-lock.json, none
// of which Node.js loads.
//
//go:embed bundled
var bundled embed.FS

const (
	// ModulesDir is the folder, next to the launcher script, the bundled
	// packages are written to; NODE_PATH names it.
	ModulesDir = "node_modules"
	// bundledModules is that folder inside bundled.
	bundledModules = "bundled/node_modules"
	// stampFile, inside ModulesDir, holds the digest of what was written,
	// so a launcher set up again over the same packages writes nothing.
	stampFile = ".kwhisk-bundle"
)

// Missing is what require('openwhisk') throws in a build made without the
// bundled packages.
const Missing = "the openwhisk npm package is not bundled with this kwhisk build: " +
	"build it with `make build` (or run `make node-client` before go build or ko), " +
	"which installs it with npm into runtimes/nodejs/launcher/bundled/node_modules"

// Bundled reports whether this build carries the openwhisk client.
func Bundled() bool { return hasClient(bundled) }

// hasClient reports whether fsys holds the openwhisk package under
// bundled/node_modules.
func hasClient(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, bundledModules+"/openwhisk/package.json")
	return err == nil
}

// modules is what ModulesDir holds, read once from the build's bundle.
var modules = sync.OnceValues(func() (map[string][]byte, error) { return moduleFiles(bundled) })

// moduleFiles is what ModulesDir holds for fsys's bundle: file path
// (slash-separated, relative to ModulesDir) to content; the bundled
// packages, or a stand-in openwhisk package whose require throws
// Missing.
func moduleFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	if !hasClient(fsys) {
		files["openwhisk/package.json"] = []byte(`{"name":"openwhisk","version":"0.0.0","main":"index.js"}` + "\n")
		files["openwhisk/index.js"] = []byte("throw new Error(" + jsString(Missing) + ");\n")
		return files, nil
	}
	err := fs.WalkDir(fsys, bundledModules, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p[len(bundledModules)+1:]] = b
		return nil
	})
	return files, err
}

// InstallModules writes the build's bundled packages into dir/ModulesDir
// (see installFiles) and returns that folder, for NODE_PATH; Setup calls
// it, tests that run action code with node alone do too.
func InstallModules(dir string) (string, error) {
	files, err := modules()
	if err != nil {
		return "", fmt.Errorf("bundled node modules: %w", err)
	}
	return installFiles(dir, files)
}

// jsString quotes s as a JavaScript string literal; s is ASCII without
// quotes or backslashes.
func jsString(s string) string { return `"` + s + `"` }

// digest identifies the content of modules, names and bytes.
func digest(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// installFiles writes files into dir/ModulesDir, unless the same ones
// are there already, and returns that folder. It writes a fresh folder
// and renames it into place, so an instance starting meanwhile sees
// either the old packages or the new ones, whole.
func installFiles(dir string, files map[string][]byte) (string, error) {
	sum := digest(files)
	dst := filepath.Join(dir, ModulesDir)
	if have, err := os.ReadFile(filepath.Join(dst, stampFile)); err == nil && bytes.Equal(have, []byte(sum)) {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(dir, "."+ModulesDir+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, stampFile), []byte(sum), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Another launcher of the same build may have just put its copy
		// in place: that one is as good.
		if have, rerr := os.ReadFile(filepath.Join(dst, stampFile)); rerr == nil && bytes.Equal(have, []byte(sum)) {
			return dst, nil
		}
		return "", err
	}
	return dst, nil
}

// withNodePath returns env with dir first on NODE_PATH, keeping what env
// had there after it.
func withNodePath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	val := dir
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, "NODE_PATH="); ok {
			if rest != "" {
				val = dir + string(os.PathListSeparator) + rest
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "NODE_PATH="+val)
}
