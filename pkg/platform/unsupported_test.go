package platform_test

import (
	"testing"

	"github.com/kwhisk/kwhisk/pkg/platform"
)

type offering []platform.Runtime

func (o offering) Runtimes() []platform.Runtime { return o }

type explaining struct{ offering }

func (explaining) Missing(kind string) string {
	if kind == "nodejs:20" {
		return "The runtime 'nodejs:20' needs Node.js, but this host has no 'node' on its PATH."
	}
	return ""
}

func TestUnsupported(t *testing.T) {
	rts := offering{{Family: "python", Kind: "python:3.12"}, {Family: "python", Kind: "python:3.11", Default: true}}
	tests := []struct {
		name     string
		o        platform.Offering
		kind     string
		run, put string
	}{
		{"no explanation", rts, "nodejs:20",
			"The runtime 'nodejs:20' is not supported by this platform.",
			"The specified runtime 'nodejs:20' is not supported by this platform. Valid values are: 'python:3.11', 'python:3.12'"},
		{"explained", explaining{rts}, "nodejs:20",
			"The runtime 'nodejs:20' needs Node.js, but this host has no 'node' on its PATH.",
			"The specified runtime 'nodejs:20' is not supported by this platform. Valid values are: 'python:3.11', 'python:3.12'. " +
				"The runtime 'nodejs:20' needs Node.js, but this host has no 'node' on its PATH."},
		{"unknown family", explaining{rts}, "cobol:1",
			"The runtime 'cobol:1' is not supported by this platform.",
			"The specified runtime 'cobol:1' is not supported by this platform. Valid values are: 'python:3.11', 'python:3.12'"},
		{"family offered", explaining{offering{{Family: "nodejs", Kind: "nodejs:22"}}}, "nodejs:20",
			"The runtime 'nodejs:20' needs Node.js, but this host has no 'node' on its PATH.",
			"The specified runtime 'nodejs:20' is not supported by this platform. Valid values are: 'nodejs:22'"},
	}
	for _, tt := range tests {
		if got := platform.Unsupported(tt.o, tt.kind); got != tt.run {
			t.Errorf("%s: Unsupported = %q, want %q", tt.name, got, tt.run)
		}
		if got := platform.UnsupportedKind(tt.o, tt.kind); got != tt.put {
			t.Errorf("%s: UnsupportedKind = %q, want %q", tt.name, got, tt.put)
		}
	}
}
