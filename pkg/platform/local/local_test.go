package local_test

import (
	"context"
	"sync"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/platform/platformtest"
)

var _ platform.Platform = (*local.Platform)(nil)

// interpreters are detected once for the whole package.
var interpreters = sync.OnceValues(func() ([]local.Interpreter, error) {
	return local.Detect(context.Background())
})

func newPlatform(t *testing.T, opts local.Options) *local.Platform {
	t.Helper()
	its, err := interpreters()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if len(its) == 0 {
		t.Skip("neither node nor python3 on PATH")
	}
	if opts.Interpreters == nil {
		opts.Interpreters = its
	}
	opts.WorkDir = t.TempDir()
	if opts.APIHost == "" {
		opts.APIHost = "http://127.0.0.1:3233"
	}
	p, err := local.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T) platform.Platform { return newPlatform(t, local.Options{}) })
}
