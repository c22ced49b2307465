// Package runtimes is the registry of runtime families: every family
// kwhisk knows, each described once by its package under runtimes/ (see
// runtimes/family). Local mode probes, launches and explains kinds from
// it; the image mains (runtimes/<family>, runtimes/<family>/<version>),
// .ko.yaml and config/301-runtimes.yaml are checked against it by this
// package's tests.
//
// Adding a family: a folder runtimes/<dir> with its launcher package
// exporting Family and its image mains (written by
// `go test ./runtimes -run TestMains -update`), one line in all below,
// and its kinds in .ko.yaml and config/301-runtimes.yaml (TestKoYAML and
// TestConfigRuntimes say what is missing).
//
// It imports the standard library, pkg/actionloop and the family
// packages; never a platform, so platforms may import it.
package runtimes

import (
	"github.com/kwhisk/kwhisk/runtimes/family"
	golauncher "github.com/kwhisk/kwhisk/runtimes/go/launcher"
	nativelauncher "github.com/kwhisk/kwhisk/runtimes/native/launcher"
	nodelauncher "github.com/kwhisk/kwhisk/runtimes/nodejs/launcher"
	pylauncher "github.com/kwhisk/kwhisk/runtimes/python/launcher"
)

// all is every family, in the order local mode probes and lists them.
var all = []*family.Family{
	&nodelauncher.Family,
	&pylauncher.Family,
	&golauncher.Family,
	&nativelauncher.Family,
}

// Families lists every family; the descriptions are read-only.
func Families() []*family.Family {
	return append([]*family.Family(nil), all...)
}

// Lookup returns the family named name, or nil.
func Lookup(name string) *family.Family {
	for _, f := range all {
		if f.Name == name {
			return f
		}
	}
	return nil
}
