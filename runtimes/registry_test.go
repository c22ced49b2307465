package runtimes_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kwhisk/kwhisk/runtimes"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// update rewrites the image mains from the registry.
var update = flag.Bool("update", false, "write the runtime image mains from the registry")

const module = "github.com/kwhisk/kwhisk"

// The descriptions are whole: every kind belongs to its family, each
// image has its own main, and what local mode and the images need is
// there.
func TestFamilies(t *testing.T) {
	names, kinds, mains := map[string]bool{}, map[string]string{}, map[string]string{}
	for _, f := range runtimes.Families() {
		switch {
		case f.Name == "" || f.Lang == "" || f.Dir == "":
			t.Errorf("%+v: a family needs a Name, a Lang and a Dir", f)
		case names[f.Name]:
			t.Errorf("family %s declared twice", f.Name)
		case f.Launcher == nil || f.ImageLauncher == nil:
			t.Errorf("family %s has no launcher for local mode or for its image", f.Name)
		case f.StemCells && f.StemPlaceholder == "":
			t.Errorf("family %s has stem cells but no placeholder code", f.Name)
		case f.Probe != nil && f.Probe.Exe == "":
			t.Errorf("family %s probes no executable", f.Name)
		case len(f.Images) == 0 || f.Images[0].Main != f.Dir:
			t.Errorf("family %s: its first (default) image's main must be runtimes/%s", f.Name, f.Dir)
		}
		names[f.Name] = true
		if runtimes.Lookup(f.Name) != f {
			t.Errorf("Lookup(%q) is not the registered family", f.Name)
		}
		for _, im := range f.Images {
			version, _ := strings.CutPrefix(im.Kind, f.Name+":")
			if want := f.KindOf(version); im.Kind != want || (f.VersionParts > 0 && version == im.Kind) {
				t.Errorf("family %s: image kind %q is not a kind of the family (%d version parts)", f.Name, im.Kind, f.VersionParts)
			}
			if other, dup := kinds[im.Kind]; dup {
				t.Errorf("kind %s in families %s and %s", im.Kind, other, f.Name)
			}
			if other, dup := mains[im.Main]; dup {
				t.Errorf("main runtimes/%s serves %s and %s: ko picks base images by import path", im.Main, other, im.Kind)
			}
			if im.Base == "" {
				t.Errorf("kind %s has no base image", im.Kind)
			}
			kinds[im.Kind], mains[im.Main] = f.Name, im.Kind
		}
	}
	// The harness runs each family's default main.
	dirs := map[string]string{}
	for _, f := range runtimes.Families() {
		dirs[f.Name] = f.Dir
	}
	if diff := cmp.Diff(dirs, families); diff != "" {
		t.Errorf("harness families (-registry +harness):\n%s", diff)
	}
}

func TestKindOf(t *testing.T) {
	for _, tt := range []struct{ family, version, want string }{
		{"nodejs", "20.20.2", "nodejs:20"},
		{"python", "3.11.7", "python:3.11"},
		{"python", "3", "python:3"},
		{"go", "1.26.8", "go:1.26"},
		{"blackbox", "", "blackbox"},
	} {
		if got := runtimes.Lookup(tt.family).KindOf(tt.version); got != tt.want {
			t.Errorf("%s KindOf(%q) = %q, want %q", tt.family, tt.version, got, tt.want)
		}
	}
}

// .ko.yaml gives each image main the base image of its kind, and nothing
// else.
func TestKoYAML(t *testing.T) {
	var ko struct {
		DefaultBaseImage   string            `json:"defaultBaseImage"`
		BaseImageOverrides map[string]string `json:"baseImageOverrides"`
	}
	readYAML(t, "../.ko.yaml", &ko)
	want := map[string]string{}
	for _, f := range runtimes.Families() {
		for _, im := range f.Images {
			want[module+"/runtimes/"+im.Main] = im.Base
		}
	}
	got := map[string]string{}
	for path, base := range ko.BaseImageOverrides {
		if strings.HasPrefix(path, module+"/runtimes/") {
			got[path] = base
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf(".ko.yaml baseImageOverrides of runtimes/ (-registry +.ko.yaml):\n%s", diff)
	}
	if ko.DefaultBaseImage == "" {
		t.Error(".ko.yaml has no defaultBaseImage")
	}
}

// config/301-runtimes.yaml lists every kind of the registry, each with
// its own image main.
func TestConfigRuntimes(t *testing.T) {
	var cm struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	readYAML(t, "../config/301-runtimes.yaml", &cm)
	want := map[string]string{}
	for _, f := range runtimes.Families() {
		for _, im := range f.Images {
			// ConfigMap keys cannot hold ':' (pkg/gateway readRuntimes).
			want[strings.Replace(im.Kind, ":", "-", 1)] = "ko://" + module + "/runtimes/" + im.Main
		}
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Name != "kwhisk-runtimes" {
		t.Errorf("config/301-runtimes.yaml is %s %s, want ConfigMap kwhisk-runtimes", cm.Kind, cm.Metadata.Name)
	}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("config/301-runtimes.yaml data (-registry +config):\n%s", diff)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every image main is the one call the registry generates; -update
// writes them.
func TestMains(t *testing.T) {
	for _, f := range runtimes.Families() {
		for _, im := range f.Images {
			want, err := mainSource(f, im)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(filepath.FromSlash(im.Main), "main.go")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("kind %s has no image main: %v (go test ./runtimes -run TestMains -update)", im.Kind, err)
				continue
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("runtimes/%s is not the generated main (go test ./runtimes -run TestMains -update) (-want +got):\n%s", path, diff)
			}
		}
	}
}

var mainTemplate = template.Must(template.New("main").Parse(`// Code generated by ` + "`go test ./runtimes -run TestMains -update`" + `; DO NOT EDIT.

// Command {{.Command}} is the runtime image of the kind {{.Kind}}: it
// serves one action over HTTP as docs/runtime-protocol.md describes.
// Its own import path gives it its base image in .ko.yaml:
// {{.Base}}. The {{.Family}} family is described in
// runtimes/{{.Dir}}/launcher.
package main

import (
	"{{.Module}}/runtimes/{{.Dir}}/launcher"
	"{{.Module}}/runtimes/imagemain"
)

func main() { imagemain.Main(&launcher.Family) }
`))

func mainSource(f *family.Family, im family.Image) ([]byte, error) {
	var b bytes.Buffer
	err := mainTemplate.Execute(&b, map[string]string{
		"Command": filepath.Base(im.Main), "Kind": im.Kind, "Base": im.Base,
		"Family": f.Name, "Dir": f.Dir, "Module": module,
	})
	if err != nil {
		return nil, fmt.Errorf("main of %s: %w", im.Kind, err)
	}
	return format.Source(b.Bytes()) // sorts the imports
}
