package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// packageFiles are OpenWhisk's standard catalog packages, written anew for
// kwhisk: packages/<name>/manifest.json describes the package and its
// actions (OpenWhisk's names, parameters, annotations and results), and
// packages/<name>/<action>.js is each action's code.
//
//go:embed packages
var packageFiles embed.FS

// standardPackages are installed in this order, after the feed packages.
var standardPackages = []string{"utils", "samples"}

// fallbackNodeKind is the kind of the catalog's Node.js actions when the
// platform offers no Node.js: invoking them then says so.
const fallbackNodeKind = "nodejs:20"

// CatalogNodeKind is the kind the standard packages' actions get: the
// platform's default Node.js kind.
func CatalogNodeKind(rts []platform.Runtime) string {
	for _, rt := range rts {
		if rt.Family == "nodejs" && rt.Default {
			return rt.Kind
		}
	}
	return fallbackNodeKind
}

// manifest is a packages/<name>/manifest.json.
type manifest struct {
	Description string `json:"description"`
	Actions     []struct {
		Name        string         `json:"name"`
		Annotations orderedObjects `json:"annotations"`
	} `json:"actions"`
}

// orderedObjects is a JSON object decoded into key/values in the order
// written, so the annotations read as the manifest lists them.
type orderedObjects whisk.KeyValues

func (o *orderedObjects) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("annotations: want an object")
	}
	var kv whisk.KeyValues
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		kv = append(kv, whisk.KeyValue{Key: t.(string), Value: v})
	}
	*o = orderedObjects(kv)
	return nil
}

// nodePackage is one standard package, read from packageFiles.
type nodePackage struct {
	name, description string
	actions           []nodeAction
}

type nodeAction struct {
	name, code  string
	annotations whisk.KeyValues
}

// loadPackages reads the standard packages from packageFiles.
func loadPackages() ([]nodePackage, error) {
	var out []nodePackage
	for _, name := range standardPackages {
		dir := path.Join("packages", name)
		b, err := packageFiles.ReadFile(path.Join(dir, "manifest.json"))
		if err != nil {
			return nil, err
		}
		var m manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
		}
		p := nodePackage{name: name, description: m.Description}
		for _, a := range m.Actions {
			code, err := packageFiles.ReadFile(path.Join(dir, a.Name+".js"))
			if err != nil {
				return nil, err
			}
			p.actions = append(p.actions, nodeAction{name: a.Name, code: string(code), annotations: whisk.KeyValues(a.Annotations)})
		}
		out = append(out, p)
	}
	return out, nil
}
