package launcher

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// Source is the launcher's Go source, compiled with every action.
//
//go:embed kwhisk_launcher.go
var Source []byte

// File names the compiler writes beside the action's code.
const (
	SourceName = "kwhisk_launcher.go"
	EntryName  = "kwhisk_entry.go"
	// CodeFile is the file name an action's source text is written as.
	CodeFile = "main.go"
)

// CompileTimeout bounds one build of an action, whatever its init's limit:
// a build cut short by the limit goes on, so the next init finds it done.
const CompileTimeout = 5 * time.Minute

// Options configure a Compiler.
type Options struct {
	// Go is the go command; "" means no toolchain, so only zips with a
	// prebuilt exec can run.
	Go string
	// Version is the toolchain's version, e.g. "1.26.8"; it is part of the
	// cache key and names the language version of generated go.mod files.
	Version string
	// CacheDir keeps one directory per code digest: the unpacked code and
	// its exec. Instances get hard links into it, so it must be on the
	// same file system as their code directories (else files are copied).
	CacheDir string
	// Env is the environment of go build, e.g. PATH and GOCACHE. The
	// compiler adds GOTOOLCHAIN=local, GOPROXY=off, GOFLAGS=-buildvcs=false,
	// CGO_ENABLED=0 and GOWORK=off: a build uses only what the code brings
	// (vendor/ for dependencies) and never the network.
	Env []string
}

// Compiler builds Go actions with a local toolchain and keeps what it
// built, or unpacked, by code digest: a second init of the same code
// neither compiles nor unzips again.
type Compiler struct {
	o Options

	mu     sync.Mutex
	builds map[string]*build // in flight, by key
}

type build struct {
	done chan struct{}
	err  error
}

// NewCompiler returns a compiler; CacheDir is created on first use.
func NewCompiler(o Options) *Compiler {
	return &Compiler{o: o, builds: map[string]*build{}}
}

// Launcher returns the launcher of the go kind: code is prepared by the
// compiler and the action's binary is the launcher. env is what every
// instance starts from.
func (c *Compiler) Launcher(env []string) *actionloop.Launcher {
	return &actionloop.Launcher{Source: CodeFile, Env: env, Prepare: c.Prepare}
}

// Prepare is actionloop's Launcher.Prepare for Go: a zip holding an exec
// runs as it is, anything else is compiled with the launcher; either way
// the result is cached by digest and cfg.Dir gets links to it.
func (c *Compiler) Prepare(ctx context.Context, cfg *actionloop.Config) ([]string, error) {
	key := c.key(cfg)
	dir := filepath.Join(c.o.CacheDir, key)
	if _, err := os.Stat(filepath.Join(dir, actionloop.ExecFile)); err != nil {
		if err := c.build(ctx, key, dir, cfg); err != nil {
			return nil, err
		}
	}
	if err := linkTree(dir, cfg.Dir); err != nil {
		return nil, err
	}
	return []string{filepath.Join(cfg.Dir, actionloop.ExecFile)}, nil
}

// launcherDigest tells builds of another launcher apart.
var launcherDigest = sha256.Sum256(Source)

// key is the cache key of cfg's code for this toolchain.
func (c *Compiler) key(cfg *actionloop.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "kwhisk-go\x00%s\x00%x\x00%s\x00%t\x00", c.o.Version, launcherDigest, entryName(cfg.Main), cfg.Binary)
	_, _ = io.WriteString(h, cfg.Code) // hashes never fail
	return hex.EncodeToString(h.Sum(nil))
}

// build makes dir, once per key however many inits ask at the same time.
// It runs apart from ctx, so a build an init gave up on still completes.
func (c *Compiler) build(ctx context.Context, key, dir string, cfg *actionloop.Config) error {
	c.mu.Lock()
	b := c.builds[key]
	if b == nil {
		b = &build{done: make(chan struct{})}
		c.builds[key] = b
		code := *cfg
		go func() {
			b.err = c.make(dir, &code)
			c.mu.Lock()
			delete(c.builds, key)
			c.mu.Unlock()
			close(b.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// make unpacks the code into a fresh directory, compiles it unless it
// holds an exec, and renames it to dir.
func (c *Compiler) make(dir string, cfg *actionloop.Config) error {
	if err := os.MkdirAll(c.o.CacheDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.o.CacheDir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // what is left after the rename
	tree := filepath.Join(tmp, "code")
	if err := actionloop.Unpack(tree, CodeFile, cfg.Code, cfg.Binary); err != nil {
		return err
	}
	exe := filepath.Join(tree, actionloop.ExecFile)
	if isELF(filepath.Join(tree, CodeFile)) { // a bare binary rather than a zip
		if err := os.Rename(filepath.Join(tree, CodeFile), exe); err != nil {
			return err
		}
	}
	if st, err := os.Stat(exe); err == nil && st.Mode().IsRegular() {
		if err := os.Chmod(exe, 0o700); err != nil {
			return err
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), CompileTimeout)
		err := Compile(ctx, c.o, tree, cfg.Main)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return &actionloop.CodeError{Message: "The action's compilation did not finish within " + CompileTimeout.String() + "."}
		}
		if err != nil {
			return err
		}
	}
	if err := os.Rename(tree, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, actionloop.ExecFile)); serr == nil {
			return nil // another gateway process built it meanwhile
		}
		return err
	}
	return nil
}

// Compile builds the package main in dir together with the launcher into
// dir/exec, calling the function main names ("main": Main), with the
// toolchain of o (CacheDir is not used). It adds the launcher's files, and
// a go.mod when dir has none. A *actionloop.CodeError reports code that
// does not compile; the error is ctx's when ctx ends first.
func Compile(ctx context.Context, o Options, dir, main string) error {
	if o.Go == "" {
		return &actionloop.CodeError{Message: "This runtime has no Go toolchain: the action must be a zip holding a prebuilt 'exec'."}
	}
	name := entryName(main)
	if !token.IsIdentifier(name) {
		return &actionloop.CodeError{Message: "Action entrypoint '" + main + "' is not a valid Go function name."}
	}
	if err := checkPackage(dir); err != nil {
		return err
	}
	files := map[string][]byte{
		SourceName: bytes.Replace(Source, []byte("//go:build ignore\n"), nil, 1),
		EntryName:  []byte("package main\n\nvar kwhiskEntry any = " + name + "\n"),
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); errors.Is(err, fs.ErrNotExist) {
		files["go.mod"] = []byte("module action\n\ngo " + languageVersion(o.Version) + "\n")
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, o.Go, "build", "-o", actionloop.ExecFile, "-trimpath", "-ldflags=-s -w", ".")
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), o.Env...),
		"GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOWORK=off", "GO111MODULE=on")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &ee):
		return &actionloop.CodeError{Message: compileError(string(out), main, name)}
	}
	return fmt.Errorf("go build: %w", err)
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}

// entryName is the Go function an entry point names: "main" is Main, and
// other names get an upper-case first letter, as in OpenWhisk.
func entryName(main string) string {
	if main == "" {
		main = "main"
	}
	r, n := utf8.DecodeRuneInString(main)
	return string(unicode.ToUpper(r)) + main[n:]
}

// languageVersion is the "go" line of a generated go.mod: "1.26" of
// "1.26.8".
func languageVersion(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "1.22"
	}
	return parts[0] + "." + parts[1]
}

// checkPackage makes sure the Go files at tree's root are package main.
func checkPackage(tree string) error {
	names, err := filepath.Glob(filepath.Join(tree, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, n := range names {
		f, err := parser.ParseFile(fset, n, nil, parser.PackageClauseOnly)
		if err != nil {
			continue // the compiler reports it with the rest
		}
		if f.Name.Name != "main" {
			return &actionloop.CodeError{Message: "The action's Go code must be package main, not package " + f.Name.Name + " (" + filepath.Base(n) + ")."}
		}
	}
	if len(names) == 0 {
		return &actionloop.CodeError{Message: "The action has no Go source files at its root, and no prebuilt 'exec'."}
	}
	return nil
}

var undefinedEntry = regexp.MustCompile(`(?m)^\./` + regexp.QuoteMeta(EntryName) + `:\d+:\d+: undefined: (\S+)$`)

// compileError turns go build's output into the init's error message.
func compileError(out, main, name string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "# ") {
		lines = lines[1:] // the package's name
	}
	msg := strings.Join(lines, "\n")
	if m := undefinedEntry.FindStringSubmatch(msg); m != nil && m[1] == name && len(lines) == 1 {
		return "Action entrypoint '" + main + "' is not a function."
	}
	return "Compilation has failed: " + msg
}

// linkTree makes dst a copy of src, with hard links where it can.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.Mkdir(target, 0o700)
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Close() // the copy error matters
		return err
	}
	return w.Close()
}
